/* registry: the list of every connection type.  Add a driver here. */
#include <string.h>

#include "driver.h"

extern const struct driver_ops loopback_driver;
extern const struct driver_ops emulator_driver;
extern const struct driver_ops http_driver;
extern const struct driver_ops smpp_driver;
extern const struct driver_ops smpp_server_driver;
extern const struct driver_ops http_api_driver;
extern const struct driver_ops odbc_driver;
extern const struct driver_ops email_driver;
extern const struct driver_ops exec_driver;
extern const struct driver_ops at_driver;
extern const struct driver_ops fbus_driver;
extern const struct driver_ops ucp_driver;
extern const struct driver_ops ucp_server_driver;
extern const struct driver_ops link_driver;
extern const struct driver_ops link_server_driver;

/* One driver per line, so that adding one is a one-line change. */
/* clang-format off */
const struct driver_ops *const driver_registry[] = {
    &loopback_driver,
    &emulator_driver,
    &http_driver,
    &smpp_driver,
    &smpp_server_driver,
    &http_api_driver,
    &odbc_driver,
    &email_driver,
    &exec_driver,
    &at_driver,
    &fbus_driver,
    &ucp_driver,
    &ucp_server_driver,
    &link_driver,
    &link_server_driver,
    NULL,
};
/* clang-format on */

const struct driver_ops *driver_find(const char *name)
{
	for (const struct driver_ops *const *d = driver_registry; *d; d++)
		if (strcmp((*d)->name, name) == 0)
			return *d;
	return NULL;
}
