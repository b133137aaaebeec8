/*
 * chan: the only thing the loop thread and the store thread share.  A
 * mutex-protected list of tagged items plus an eventfd that the receiver
 * polls; an item carries ownership of what it points to.
 */
#ifndef SMSPOOL_CHAN_H
#define SMSPOOL_CHAN_H

#include <pthread.h>

struct chan_item {
	int kind;
	void *ptr;
	struct chan_item *next;
};

struct chan {
	pthread_mutex_t mu;
	int efd;
	struct chan_item *head, *tail;
};

void chan_init(struct chan *ch);
void chan_destroy(struct chan *ch);
/* Appends an item and wakes the receiver. */
void chan_put(struct chan *ch, int kind, void *ptr);
/* Takes every item, oldest first (NULL when empty); clears the wake-up. */
struct chan_item *chan_take_all(struct chan *ch);
/* The descriptor that becomes readable when items are waiting. */
int chan_fd(const struct chan *ch);

#endif
