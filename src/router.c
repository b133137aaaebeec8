/* router: see router.h. */
#include "router.h"

int router_pick(const struct msg *m, bool (*usable)(const char *name, void *ctx), void *ctx, uint32_t rnd)
{
	int i = 0;
	while (i < m->nroute) {
		int pos = m->route[i].position, end = i;
		uint64_t total = 0;
		while (end < m->nroute && m->route[end].position == pos) {
			if (usable(m->route[end].conn, ctx) && m->route[end].weight > 0)
				total += (uint64_t)m->route[end].weight;
			end++;
		}
		if (total) {
			uint64_t x = (uint64_t)rnd % total;
			for (int k = i; k < end; k++) {
				if (!usable(m->route[k].conn, ctx) || m->route[k].weight <= 0)
					continue;
				if (x < (uint64_t)m->route[k].weight)
					return k;
				x -= (uint64_t)m->route[k].weight;
			}
		}
		i = end;
	}
	return -1;
}
