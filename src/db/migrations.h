/* migrations: the numbered SQL files of sql/, compiled into the binary. */
#ifndef SMSPOOL_DB_MIGRATIONS_H
#define SMSPOOL_DB_MIGRATIONS_H

struct sql_migration {
	int version;      /* the number the file name starts with */
	const char *name; /* file name without .sql */
	const char *sql;  /* the whole file */
};

/* Ordered by version; ends with an entry whose name is NULL. */
extern const struct sql_migration sql_migrations[];

#endif
