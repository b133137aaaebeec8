/*
 * status_page: renders the operations endpoint's HTML status page (see
 * status_page.c) from the database's figures and this daemon's metrics.
 */
#ifndef SMSPOOL_STATUS_PAGE_H
#define SMSPOOL_STATUS_PAGE_H

#include "metrics.h"
#include "ops_sql.h"
#include "sbuf.h"

/* Appends the whole page to o.  instance: this daemon's name. */
void status_page_render(struct sbuf *o, const char *instance, const struct ops_page_data *p,
                        const struct metrics_db *db, int refresh_s);

#endif
