/* chan: see chan.h. */
#include "chan.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util.h"

void chan_init(struct chan *ch)
{
	pthread_mutex_init(&ch->mu, NULL);
	ch->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ch->efd < 0)
		abort();
	ch->head = ch->tail = NULL;
}

void chan_destroy(struct chan *ch)
{
	struct chan_item *it = chan_take_all(ch);
	while (it) {
		struct chan_item *next = it->next;
		free(it);
		it = next;
	}
	close(ch->efd);
	pthread_mutex_destroy(&ch->mu);
}

void chan_put(struct chan *ch, int kind, void *ptr)
{
	struct chan_item *it = xmalloc(sizeof *it);
	it->kind = kind;
	it->ptr = ptr;
	it->next = NULL;
	pthread_mutex_lock(&ch->mu);
	int was_empty = ch->head == NULL;
	if (ch->tail)
		ch->tail->next = it;
	else
		ch->head = it;
	ch->tail = it;
	pthread_mutex_unlock(&ch->mu);
	if (was_empty) {
		uint64_t one = 1;
		/* A full counter still wakes the reader; nothing to do on error. */
		if (write(ch->efd, &one, sizeof one) < 0) {
		}
	}
}

struct chan_item *chan_take_all(struct chan *ch)
{
	uint64_t v;
	if (read(ch->efd, &v, sizeof v) < 0) {
	}
	pthread_mutex_lock(&ch->mu);
	struct chan_item *it = ch->head;
	ch->head = ch->tail = NULL;
	pthread_mutex_unlock(&ch->mu);
	return it;
}

int chan_fd(const struct chan *ch)
{
	return ch->efd;
}
