/*
 * at: the private state of one `type at` connection, shared by at.c (the
 * session: start-up, command queue, recovery), tx.c (sending) and rx.c
 * (what the modem delivers: texts, status reports, their acknowledgement
 * and deletion).  Nothing outside drivers/at includes this.
 */
#ifndef SMSPOOL_AT_AT_H
#define SMSPOOL_AT_AT_H

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "at/line.h"
#include "codec/reasm.h"
#include "codec/tpdu.h"
#include "driver.h"
#include "serial.h"
#include "sms_held.h"

struct at_conf {
	struct serial_conf serial;
	char *pin;
	char *smsc;
	json_t *init; /* array of extra command strings, sent after ATE0 */
	char *storage;
	char *cnmi;
	char *report_storage; /* NULL: reports are kept in storage (or announced by +CDSI) */
	bool cnma;
	long long sweep_s;
	long long status_s;
	long long command_timeout_ms;
	long long send_timeout_ms;
	long long reconnect_min_ms;
	long long reconnect_max_ms;
	long long reasm_timeout_s;
	long long send_interval_ms;
	char *mode; /* "pdu" or "text" */
};

/* The session's one state (transitions logged at debug). */
enum at_state {
	AT_ST_CLOSED,  /* no port; a reconnect timer is armed */
	AT_ST_INIT,    /* start-up commands running */
	AT_ST_READY,   /* up: sending and receiving */
	AT_ST_PIN_BAD, /* stopped for good: PIN wrong/missing or PUK needed */
	AT_ST_STOPPING,
	AT_ST_STOPPED,
};

/* What a queued command is for; decides what its answer means. */
enum at_cmd_kind {
	AT_CMD_INIT,   /* a start-up step (at->init_step says which) */
	AT_CMD_SEND,   /* AT+CMGS of the current part */
	AT_CMD_READ,   /* AT+CMGR=index */
	AT_CMD_DELETE, /* AT+CMGD=index */
	AT_CMD_LIST,   /* AT+CMGL=4 sweep */
	AT_CMD_ACK,    /* AT+CNMA */
	AT_CMD_POLL,   /* status: AT+CSQ, AT+CREG? */
	AT_CMD_MEM,    /* AT+CPMS around a read/delete in another memory */
};

struct at_cmd {
	enum at_cmd_kind kind;
	char text[128]; /* without CR */
	int arg;        /* index for READ/DELETE */
	struct at_cmd *next;
};

/* Storage indexes at or above this live in a->other_mem (status reports a
 * modem keeps apart, +CDSI: "SR",n), at index - AT_OTHER_MEM. */
#define AT_OTHER_MEM 1000000

/* A message being sent, part after part. */
struct at_out {
	struct msg *m;
	int n_parts, next_part;
	char **pdus; /* hex, with SMSC field */
	int *tpdu_lens;
	char **ids;
	bool pdu_written; /* the current part's PDU went to the modem */
	struct at_out *next;
};

/* A stored message the driver handed over (owed.c). */
enum at_owed_state {
	AT_OWED_READ,   /* handed over: its fingerprint, in case it is committed */
	AT_OWED_DELETE, /* committed: AT+CMGD it */
	AT_OWED_UNSURE, /* committed, and the answer to its delete may have been lost */
};
struct at_owed {
	int idx;
	uint32_t fp; /* 0: unknown */
	enum at_owed_state state;
	unsigned seen; /* the listing that last showed it (a->list_gen) */
};

struct at {
	struct conn *c;
	const struct at_conf *conf;
	struct event_base *base;
	enum at_state state;
	struct serial *port;
	struct at_line parser;

	struct at_cmd *q_head, **q_tail; /* commands waiting */
	struct at_cmd *cur;              /* the command in flight */
	int cur_lines;
	char cur_info[8][AT_LINE_MAX + 1]; /* its answer lines (first few) */
	char cur_pdu[AT_LINE_MAX + 1];
	struct event *ev_timeout, *ev_reconnect, *ev_sweep, *ev_poll, *ev_stop, *ev_settle;
	bool settling; /* just reopened: input is dropped until ev_settle */
	int init_step;
	int failures;
	uint64_t reconnect_ms;
	uint64_t last_send_ms;

	struct at_out *out_head, **out_tail; /* messages lent by the core */

	/* rx.c */
	struct sms_held held;     /* parts of long texts, and what the core has not acked */
	struct at_owed owed[512]; /* stored messages read, committed or being deleted (owed.c) */
	int n_owed;
	unsigned list_gen;   /* counts sweeps' listings: what an unsure index was last seen in */
	int cnma_due;        /* AT+CNMA owed for committed +CMT/+CDS */
	struct at_due *dues; /* +CMT sets with parts in the database: when they are overdue */
	struct event *ev_due;
	bool marker_sent, cmt_parts; /* a flush marker went out; +CMT parts came (this process) */
	char other_mem[8];

	/* Shown in `smspool status`. */
	char imei[32], imsi[32], oper[64], sim_smsc[64];
	int csq, creg;
	char why[160];       /* last reason for being down */
	char published[512]; /* the detail last given to core_conn_state */
};

/* at.c */
void at_cmd_push(struct at *a, enum at_cmd_kind kind, int arg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void at_pump(struct at *a);
const char *at_name(const struct at *a);
/* Ends the session as if the modem went away; it is opened again at once. */
void at_restart(struct at *a, const char *why);

/* The first line of the current command's answer that starts with name:
 * (NULL: the first that starts with no '+'), or NULL. */
const char *at_answer(const struct at *a, const char *name);
/* Copies the decimal digits of line into dst. */
void at_copy_digits(char *dst, size_t cap, const char *line);
/* The session ends: everything lent goes back, the port closes, and a
 * reopen is scheduled (unless stopping or stopped for good). */
void at_down(struct at *a, const char *why);
/* The start-up is done: ready, sweeping and polling. */
void at_ready(struct at *a);
/* The SIM cannot be used (PIN): stopped, never retried. */
void at_stop_for_good(struct at *a, const char *why);

/* init.c */
/* Back to the first step (the port was just opened). */
void at_init_reset(struct at *a);
/* Queues the command of the current step (skipping steps with nothing to do). */
void at_init_push(struct at *a);
/* The final answer to the current step's command: the next step, ready, or down. */
void at_init_answer(struct at *a, const struct at_ev *ev);

/* tx.c */
/* Splits o->m into SUBMIT PDUs.  Returns 0 or -1 with err set. */
int at_out_build(struct at *a, struct at_out *o, struct errbuf *err);
/* The final answer to the current part's AT+CMGS. */
void at_send_answer(struct at *a, const struct at_ev *ev);
void at_out_free(struct at_out *o);
/* Completes the first lent message with what msg_set_* recorded. */
void at_out_done(struct at *a);
/* Gives every lent message back: temporary when its fate is unknown,
 * released when it never left. */
void at_out_abort(struct at *a, const char *why);

/* rx.c */
void at_rx_init(struct at *a);
void at_rx_free(struct at *a);
/* True when the connection runs in text mode (+CMGF=1). */
bool at_text_mode(const struct at *a);
/* A URC (+CMTI, +CDSI, +CMT, +CDS ...). */
void at_rx_urc(struct at *a, const struct at_ev *ev);
/* The answer to AT+CMGR=index: the +CMGR header and its PDU. */
void at_rx_read(struct at *a, int index, const char *hdr, const char *pdu);
/* One +CMGL entry of a sweep; base: AT_OTHER_MEM when listing a->other_mem. */
void at_rx_listed(struct at *a, const char *hdr, const char *pdu, int base);
/* Queues the AT+CMGL sweep of storage, and of the reports' memory when
 * it is another one (report_storage, or learnt from +CDSI). */
void at_rx_sweep(struct at *a);
/* AT+CMGD=index answered (ok: deleted or already gone). */
void at_rx_deleted(struct at *a, int index, bool ok);
void at_rx_acked(struct at *a, uint64_t token, bool committed);
/* Queues the deletes owed (after a reconnect, and at each sweep for those
 * that failed), unless deletes are already queued. */
void at_rx_resume(struct at *a);
/* Expires incomplete concatenated texts (called from the sweep timer). */
void at_rx_poll(struct at *a);
/* Asks the database to store the overdue +CMT sets of this connection
 * (a flush marker, sql/036_modem.sql). */
void at_rx_flush_parts(struct at *a);
/* True while reads, acknowledgements or deletes are outstanding. */
bool at_rx_busy(const struct at *a);

/* owed.c */
struct at_resp;
/* The fingerprint of a stored message: the PDU (body) in PDU mode; in text
 * mode the text (body) and r's parameters from `first` (the one after
 * <stat>) that +CMGR and +CMGL have in common. */
uint32_t at_owed_fingerprint(const struct at_resp *r, int first, const char *body, bool text_mode);
/* Stored message idx is being handed over: remember its fingerprint. */
void at_owed_read(struct at *a, int idx, uint32_t fp);
/* The database has it: a delete is owed.  False when one was owed already
 * (or the table is full: the next sweep hands it over again). */
bool at_owed_commit(struct at *a, int idx);
/* It was not committed: nothing is owed. */
void at_owed_forget(struct at *a, int idx);
/* A delete is owed or unsure for idx: not to be handed over. */
bool at_owed_busy(struct at *a, int idx);
/* Deletes owed and not unsure. */
int at_owed_pending(const struct at *a);
/* AT+CMGD=idx answered: nothing more owed. */
void at_owed_deleted(struct at *a, int idx);
/* The session ended: every owed delete may have been carried out. */
void at_owed_session_end(struct at *a);
/* A +CMTI/+CDSI for idx: if its delete was unsure, it went through.
 * True when that was so. */
bool at_owed_stored_anew(struct at *a, int idx);
enum at_owed_verdict {
	AT_OWED_NEW,      /* not ours (or no longer): hand it over */
	AT_OWED_BUSY,     /* its delete is owed: leave it */
	AT_OWED_VERIFIED, /* unsure, and still the committed message: delete it */
};
/* A listing shows idx with fingerprint fp. */
enum at_owed_verdict at_owed_listed(struct at *a, int idx, uint32_t fp);
/* A listing of storage (other_mem: of a->other_mem) ended; ok: complete,
 * so unsure indexes it did not show are empty. */
void at_owed_list_done(struct at *a, bool other_mem, bool ok);

#endif
