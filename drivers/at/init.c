/*
 * init: the start-up of an `at` session, a fixed list of steps (enum
 * at_init) run as commands one after the other: probe, echo off, the
 * user's init commands, the PIN (a wrong one stops the connection for good
 * instead of retrying a SIM into its PUK lock), PDU or text mode, SMSC,
 * storage, indications, and what `smspool status` shows (IMEI, IMSI,
 * operator, signal, registration).  The command pump and the session are
 * at.c's.
 */
#include <stdio.h>
#include <string.h>

#include "at/at.h"
#include "at/resp.h"
#include "log.h"

enum at_init {
	IS_PROBE,
	IS_ECHO,
	IS_USER,
	IS_CMEE,
	IS_CPIN_Q,
	IS_CPIN_SET,
	IS_CPIN_Q2,
	IS_CMGF,
	IS_CSMP,
	IS_CSCA,
	IS_CPMS,
	IS_CNMI,
	IS_CGSN,
	IS_CIMI,
	IS_COPS_FMT,
	IS_COPS,
	IS_CSQ,
	IS_CREG,
	IS_DONE,
};

void at_init_reset(struct at *a)
{
	a->init_step = IS_PROBE;
	a->failures = 0;
}

void at_init_push(struct at *a)
{
	const struct at_conf *cf = a->conf;
	switch (a->init_step) {
	case IS_PROBE:
		at_cmd_push(a, AT_CMD_INIT, 0, "AT");
		break;
	case IS_ECHO:
		at_cmd_push(a, AT_CMD_INIT, 0, "ATE0");
		break;
	case IS_USER: {
		size_t n = cf->init ? json_array_size(cf->init) : 0;
		size_t i = (size_t)a->failures; /* reused as the index while in IS_USER */
		if (i < n && json_is_string(json_array_get(cf->init, i))) {
			at_cmd_push(a, AT_CMD_INIT, (int)i, "%s", json_string_value(json_array_get(cf->init, i)));
			break;
		}
		a->failures = 0;
		a->init_step = IS_CMEE;
		at_init_push(a);
		break;
	}
	case IS_CMEE:
		at_cmd_push(a, AT_CMD_INIT, 0, "AT+CMEE=1");
		break;
	case IS_CPIN_Q:
	case IS_CPIN_Q2:
		at_cmd_push(a, AT_CMD_INIT, 0, "AT+CPIN?");
		break;
	case IS_CPIN_SET:
		at_cmd_push(a, AT_CMD_INIT, 0, "AT+CPIN=\"%s\"", cf->pin);
		break;
	case IS_CMGF:
		at_cmd_push(a, AT_CMD_INIT, 0, "AT+CMGF=%d", at_text_mode(a) ? 1 : 0);
		break;
	case IS_CSMP: /* text mode: SMS-SUBMIT with TP-SRR, VP 24 h, for every text */
		if (at_text_mode(a)) {
			at_cmd_push(a, AT_CMD_INIT, 0, "AT+CSMP=49,167,0,0");
		} else {
			a->init_step = IS_CSCA;
			at_init_push(a);
		}
		break;
	case IS_CSCA:
		if (cf->smsc) {
			a->init_step = IS_CPMS;
			at_init_push(a);
		} else {
			at_cmd_push(a, AT_CMD_INIT, 0, "AT+CSCA?");
		}
		break;
	case IS_CPMS:
		at_cmd_push(a, AT_CMD_INIT, 0, "AT+CPMS=\"%s\",\"%s\",\"%s\"", cf->storage, cf->storage, cf->storage);
		break;
	case IS_CNMI:
		at_cmd_push(a, AT_CMD_INIT, 0, "AT+CNMI=%s", cf->cnmi);
		break;
	case IS_CGSN:
		at_cmd_push(a, AT_CMD_INIT, 0, "AT+CGSN");
		break;
	case IS_CIMI:
		at_cmd_push(a, AT_CMD_INIT, 0, "AT+CIMI");
		break;
	case IS_COPS_FMT:
		at_cmd_push(a, AT_CMD_INIT, 0, "AT+COPS=3,0");
		break;
	case IS_COPS:
		at_cmd_push(a, AT_CMD_INIT, 0, "AT+COPS?");
		break;
	case IS_CSQ:
		at_cmd_push(a, AT_CMD_INIT, 0, "AT+CSQ");
		break;
	case IS_CREG:
		at_cmd_push(a, AT_CMD_INIT, 0, "AT+CREG?");
		break;
	}
}

void at_init_answer(struct at *a, const struct at_ev *ev)
{
	bool ok = ev->kind == AT_EV_OK;
	const char *l;
	struct at_resp r;
	switch (a->init_step) {
	case IS_USER:
		if (!ok)
			log_warn("at_init", "conn=%s command=\"%s\" answer=\"%s\"", at_name(a), a->cur->text, ev->line);
		a->failures++;
		at_init_push(a);
		return;
	case IS_CPIN_Q:
	case IS_CPIN_Q2:
		l = at_answer(a, "+CPIN");
		if (!ok && ev->kind == AT_EV_CME_ERROR && ev->code == 10) {
			at_down(a, "SIM not inserted");
			return;
		}
		if (!l || strstr(l, "READY")) {
			a->init_step = IS_CMGF;
		} else if (strstr(l, "SIM PIN") && a->init_step == IS_CPIN_Q && a->conf->pin) {
			a->init_step = IS_CPIN_SET;
		} else {
			char why[160];
			snprintf(why, sizeof why, "SIM wants %s%s: stopped, not retried", l + 6 + strspn(l + 6, " "),
			         a->conf->pin ? " after the pin setting was entered" : " and no pin setting is given");
			at_stop_for_good(a, why);
			return;
		}
		at_init_push(a);
		return;
	case IS_CPIN_SET:
		if (!ok) {
			char why[160];
			snprintf(why, sizeof why, "wrong PIN (%s): stopped, not retried (a SIM locks after 3 tries)",
			         ev->line);
			at_stop_for_good(a, why);
			return;
		}
		a->init_step = IS_CPIN_Q2;
		at_init_push(a);
		return;
	case IS_CMGF:
		if (!ok) {
			at_down(a, at_text_mode(a) ? "the modem refuses text mode (AT+CMGF=1)"
			                           : "the modem refuses PDU mode (AT+CMGF=0)");
			return;
		}
		at_line_text_mode(&a->parser, at_text_mode(a));
		break;
	case IS_CSMP:
		if (!ok)
			log_warn("at_init", "conn=%s command=\"%s\" answer=\"%s\"", at_name(a), a->cur->text, ev->line);
		break;
	case IS_CSCA:
		if ((l = at_answer(a, "+CSCA")) && at_resp_parse(l, &r) == 0)
			snprintf(a->sim_smsc, sizeof a->sim_smsc, "%s", r.v[0]);
		break;
	case IS_CPMS:
	case IS_CNMI:
		if (!ok)
			log_warn("at_init", "conn=%s command=\"%s\" answer=\"%s\"", at_name(a), a->cur->text, ev->line);
		break;
	case IS_CGSN:
		if (ok && (l = at_answer(a, NULL)))
			at_copy_digits(a->imei, sizeof a->imei, l);
		else if (ok && (l = at_answer(a, "+CGSN")))
			at_copy_digits(a->imei, sizeof a->imei, l + 6);
		break;
	case IS_CIMI:
		if (ok && (l = at_answer(a, NULL)))
			at_copy_digits(a->imsi, sizeof a->imsi, l);
		break;
	case IS_COPS:
		if ((l = at_answer(a, "+COPS")) && at_resp_parse(l, &r) == 0 && r.n >= 3)
			snprintf(a->oper, sizeof a->oper, "%s", r.v[2]);
		break;
	case IS_CSQ:
		if ((l = at_answer(a, "+CSQ")) && at_resp_parse(l, &r) == 0)
			a->csq = (int)at_resp_int(&r, 0, -1);
		break;
	case IS_CREG:
		if ((l = at_answer(a, "+CREG")) && at_resp_parse(l, &r) == 0)
			a->creg = (int)at_resp_int(&r, 1, -1);
		break;
	default:
		break;
	}
	a->init_step++;
	if (a->init_step == IS_USER)
		a->failures = 0;
	if (a->init_step == IS_DONE)
		at_ready(a);
	else
		at_init_push(a);
}
