-- sms_parts / sms_encoding at the boundaries
BEGIN;
SELECT plan(24);

SELECT is(smspool.sms_encoding('Hello @£$¥ èéùìò ÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&''()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà'), 'gsm7', 'every basic GSM 03.38 character is gsm7');
SELECT is(smspool.sms_encoding(E'^{}\\[~]|€\f'), 'gsm7', 'extension-table characters are gsm7');
SELECT is(smspool.sms_encoding('back`tick'), 'ucs2', 'a backtick is not GSM: ucs2');
SELECT is(smspool.sms_encoding('Привет'), 'ucs2', 'Cyrillic is ucs2');
SELECT is(smspool.sms_encoding(NULL), NULL, 'NULL body: NULL encoding');

SELECT is(smspool.sms_parts(repeat('a', 160)), 1, 'GSM: 160 septets = 1 part');
SELECT is(smspool.sms_parts(repeat('a', 161)), 2, 'GSM: 161 septets = 2 parts');
SELECT is(smspool.sms_parts(repeat('a', 306)), 2, 'GSM: 306 septets = 2 parts of 153');
SELECT is(smspool.sms_parts(repeat('a', 307)), 3, 'GSM: 307 septets = 3 parts');
SELECT is(smspool.sms_parts(repeat('a', 159) || '€'), 2, 'GSM: 159 chars + euro = 161 septets = 2 parts');
SELECT is(smspool.sms_parts(repeat('a', 158) || '€'), 1, 'GSM: 158 chars + euro = 160 septets = 1 part');
SELECT is(smspool.sms_parts(repeat('a', 152) || '€' || repeat('a', 152)), 3, 'GSM: escape pair at septet 153/154 is not split (306 septets -> 3 parts)');
SELECT is(smspool.sms_parts(repeat('a', 151) || '€' || repeat('a', 153)), 2, 'GSM: escape pair ending at septet 153 fits (306 septets -> 2 parts)');
SELECT is(smspool.sms_parts(repeat('a', 80), 'ucs2'), 2, 'forced ucs2: 80 characters = 2 parts');

SELECT is(smspool.sms_parts(repeat('ж', 70)), 1, 'UCS-2: 70 code units = 1 part');
SELECT is(smspool.sms_parts(repeat('ж', 71)), 2, 'UCS-2: 71 code units = 2 parts');
SELECT is(smspool.sms_parts(repeat('ж', 134)), 2, 'UCS-2: 134 code units = 2 parts of 67');
SELECT is(smspool.sms_parts(repeat('ж', 69) || '😀'), 2, 'UCS-2: 69 + surrogate pair = 71 units = 2 parts');
SELECT is(smspool.sms_parts(repeat('ж', 66) || '😀' || repeat('ж', 66)), 3, 'UCS-2: surrogate pair at unit 67/68 is not split (134 units -> 3 parts)');
SELECT is(smspool.sms_parts(repeat('ж', 65) || '😀' || repeat('ж', 67)), 2, 'UCS-2: surrogate pair ending at unit 67 fits (134 units -> 2 parts)');

SELECT is(smspool.sms_parts(NULL, 'binary', repeat('AB', 140)), 1, 'binary: 140 octets = 1 part');
SELECT is(smspool.sms_parts(NULL, 'binary', repeat('AB', 136), '0504158A0000'), 2, 'binary: payload 136 + udh 6 = 142 octets = 2 parts');
SELECT is(smspool.sms_parts(NULL, 'binary', repeat('AB', 269)), 3, 'binary: 269 octets = 3 parts of 134');
SELECT throws_ok($$SELECT smspool.sms_parts('x', 'latin1')$$, '22023', NULL, 'unknown encoding is an error');

SELECT * FROM finish();
ROLLBACK;
