/* The HTTP front end's held answers (http.h, dp_http_hold) over plain HTTP with one worker
 * thread: an answer with no ticket goes at once; one whose ticket is settled already goes
 * at once; a held one goes only after ready(), while the one worker answers other
 * connections meanwhile; a ready() with an error, or a wait that fails, gives a 503; and
 * dp_http_stop lets a held answer go before it returns. */
#include "test/support/support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smdp/http.h"

enum { T_NONE, T_SETTLED, T_HELD, T_FAILS, T_REFUSED };

static _Thread_local uint64_t ticket_of_request;

/* what the hold saw, and the held token the test lets go by hand */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int waits;
	void (*ready)(void *token, int r);
	void *token;
} H = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, NULL, NULL };

static int answer(void *ctx, const struct dp_http_request *req, struct dp_http_response *resp)
{
	(void)ctx;
	static const struct {
		const char *path;
		uint64_t ticket;
	} kinds[] = { { "/now", T_NONE },	 { "/settled", T_SETTLED }, { "/held", T_HELD },
		      { "/fails", T_FAILS }, { "/refused", T_REFUSED } };
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(req->path, kinds[i].path) == 0)
			ticket_of_request = kinds[i].ticket;
	}
	resp->content_type = "text/plain";
	return dp_buf_append(&resp->body, req->path + 1, strlen(req->path + 1));
}

static void hold_begin(void *arg)
{
	(void)arg;
	ticket_of_request = T_NONE;
}

static uint64_t hold_end(void *arg)
{
	(void)arg;
	return ticket_of_request;
}

struct later {
	void (*ready)(void *token, int r);
	void *token;
	int r;
	unsigned delay_ms;
};

static int readies_called; /* by ready_later, before it lets the answer go */

static void *ready_later(void *arg)
{
	struct later *l = arg;
	usleep(l->delay_ms * 1000);
	__atomic_add_fetch(&readies_called, 1, __ATOMIC_SEQ_CST);
	l->ready(l->token, l->r);
	free(l);
	return NULL;
}

static void ready_from_thread(void (*ready)(void *, int), void *token, int r, unsigned delay_ms)
{
	struct later *l = malloc(sizeof(*l));
	assert_non_null(l);
	*l = (struct later){ ready, token, r, delay_ms };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, ready_later, l), 0);
	pthread_detach(th);
}

static int hold_wait(void *arg, uint64_t ticket, void (*ready)(void *token, int r), void *token)
{
	(void)arg;
	pthread_mutex_lock(&H.lock);
	H.waits++;
	pthread_cond_broadcast(&H.cond);
	pthread_mutex_unlock(&H.lock);
	switch (ticket) {
	case T_SETTLED:
		return 1;
	case T_FAILS:
		ready_from_thread(ready, token, DP_ERR_IO, 10);
		return 0;
	case T_REFUSED:
		return DP_ERR_IO;
	default: /* T_HELD: the test lets it go */
		pthread_mutex_lock(&H.lock);
		H.ready = ready;
		H.token = token;
		pthread_cond_broadcast(&H.cond);
		pthread_mutex_unlock(&H.lock);
		return 0;
	}
}

static int waits_seen(void)
{
	pthread_mutex_lock(&H.lock);
	int n = H.waits;
	pthread_mutex_unlock(&H.lock);
	return n;
}

/* Waits until a held answer's token is there, and takes it. */
static void take_held(void (**ready)(void *, int), void **token)
{
	pthread_mutex_lock(&H.lock);
	while (H.token == NULL)
		pthread_cond_wait(&H.cond, &H.lock);
	*ready = H.ready;
	*token = H.token;
	H.token = NULL;
	pthread_mutex_unlock(&H.lock);
}

static const struct dp_http_route routes[] = {
	{ "/now", "POST", answer },   { "/settled", "POST", answer }, { "/held", "POST", answer },
	{ "/fails", "POST", answer }, { "/refused", "POST", answer },
};

/* One POST on a new connection: the status (0 when there was no answer) and the body. */
static unsigned post(uint16_t port, const char *path, char *body, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	char req[256];
	int n = snprintf(req, sizeof(req),
			 "POST %s HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n"
			 "Connection: close\r\n\r\n",
			 path);
	assert_int_equal(write(fd, req, (size_t)n), n);
	char in[4096];
	size_t got = 0;
	ssize_t k;
	while (got < sizeof(in) - 1 && (k = read(fd, in + got, sizeof(in) - 1 - got)) > 0)
		got += (size_t)k;
	close(fd);
	in[got] = '\0';
	unsigned status = 0;
	if (sscanf(in, "HTTP/1.1 %u", &status) != 1)
		return 0;
	const char *b = strstr(in, "\r\n\r\n");
	snprintf(body, cap, "%s", b != NULL ? b + 4 : "");
	return status;
}

struct client {
	uint16_t port;
	const char *path;
	unsigned status;
	char body[256];
	bool done;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	c->status = post(c->port, c->path, c->body, sizeof(c->body));
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static struct dp_http_server *start(void)
{
	struct dp_http_listener_config lc = {
		.address = "127.0.0.1",
		.plain_http = true,
		.threads = 1,
		.connection_timeout_s = 10,
		.connection_limit = 16,
		.body_max = 1024,
		.hold = { hold_begin, hold_end, hold_wait, NULL },
	};
	struct dp_http_server *s = NULL;
	assert_int_equal(dp_http_start(&lc, routes, sizeof(routes) / sizeof(routes[0]), NULL, &s),
			 0);
	return s;
}

static void held_answers(void **state)
{
	(void)state;
	struct dp_http_server *s = start();
	uint16_t port = dp_http_port(s);
	char body[256];
	assert_int_equal(post(port, "/now", body, sizeof(body)), 200);
	assert_string_equal(body, "now");
	assert_int_equal(waits_seen(), 0); /* no ticket: no wait */
	assert_int_equal(post(port, "/settled", body, sizeof(body)), 200);
	assert_string_equal(body, "settled");
	assert_int_equal(waits_seen(), 1);

	/* held: the one worker answers another connection meanwhile */
	struct client a = { .port = port, .path = "/held" };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, client_main, &a), 0);
	void (*ready)(void *, int);
	void *token;
	take_held(&ready, &token);
	assert_int_equal(post(port, "/now", body, sizeof(body)), 200);
	assert_string_equal(body, "now");
	usleep(50 * 1000);
	assert_false(__atomic_load_n(&a.done, __ATOMIC_ACQUIRE));
	ready(token, DP_OK);
	pthread_join(th, NULL);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "held");

	/* a sync that failed, or a wait that could not be set up: 503, not the answer */
	assert_int_equal(post(port, "/fails", body, sizeof(body)), 503);
	assert_null(strstr(body, "fails"));
	assert_int_equal(post(port, "/refused", body, sizeof(body)), 503);
	assert_null(strstr(body, "refused"));
	dp_http_stop(s);
}

static void stop_lets_held_answers_go(void **state)
{
	(void)state;
	struct dp_http_server *s = start();
	struct client b = { .port = dp_http_port(s), .path = "/held" };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, client_main, &b), 0);
	void (*ready)(void *, int);
	void *token;
	take_held(&ready, &token);
	int before = __atomic_load_n(&readies_called, __ATOMIC_SEQ_CST);
	ready_from_thread(ready, token, DP_OK, 100);
	dp_http_stop(s); /* returns only once the held answer was let go */
	assert_int_equal(__atomic_load_n(&readies_called, __ATOMIC_SEQ_CST), before + 1);
	pthread_join(th, NULL);
	/* libmicrohttpd may close the connection before the queued answer is written */
	if (b.status != 0) {
		assert_int_equal(b.status, 200);
		assert_string_equal(b.body, "held");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(held_answers),
		cmocka_unit_test(stop_lets_held_answers_go),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
