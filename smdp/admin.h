/* The admin commands of smdp (issue 6 item 7): `smdp profile`, `smdp order`, `smdp session`
 * over the order book (db.h) that a running server shares (SQLite WAL). Each takes its
 * argv from the command word on ("profile", "import", ...) and returns the process exit
 * status: 0 ok, 1 failure, 2 usage. */
#ifndef DP_SMDP_ADMIN_H
#define DP_SMDP_ADMIN_H

/* smdp profile import|list|show|reset|retire */
int dp_admin_profile_main(int argc, char **argv);
/* smdp order create|list */
int dp_admin_order_main(int argc, char **argv);
/* smdp session list */
int dp_admin_session_main(int argc, char **argv);

#endif
