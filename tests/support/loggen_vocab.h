/* SPDX-License-Identifier: MIT */
/*
 * loggen_vocab: the word lists logq-loggen draws from (words, users,
 * hosts, Java classes, exceptions, Python tracebacks, user agents, URL
 * paths). Data only, included once, by loggen_kinds.c (its templates and
 * kinds). Entries may hold loggen templates (%n, %x, ... see
 * loggen_kinds.c). Written for this project: look-alikes of
 * common server software output, no text copied from any log sample.
 */
#ifndef TESTS_SUPPORT_LOGGEN_VOCAB_H
#define TESTS_SUPPORT_LOGGEN_VOCAB_H


static const char *const lg_words[] = {
    "orders", "billing", "inventory", "users", "sessions", "payments",
    "cart", "search", "reports", "metrics", "audit", "email", "thumbnails",
    "export", "import", "sync", "cleanup", "reindex", "ledger", "shipping",
    "catalog", "pricing", "accounts", "tokens", "webhook", "invoice",
    "backup", "scheduler", "gateway", "profile", "recommendations",
    "notifications", "checkout", "coupons", "warehouse", "feeds"};
static const char *const lg_users[] = {
    "admin", "root", "deploy", "ubuntu", "test", "oracle", "git", "postgres",
    "guest", "alice", "bob", "jenkins", "ftpuser", "support", "user1",
    "jos\xc3\xa9", "zo\xc3\xab", "backup", "nagios", "pi"};
static const char *const lg_hosts[] = {
    "db-%n.internal", "api-gateway", "orders-%x-w%n", "cache-%n",
    "broker-%n.kafka.svc", "node-%n", "worker-%n.batch", "10.0.%n.%n",
    "search-%n.es.svc", "auth.example.com"};
static const char *const lg_queues[] = {
    "emails", "thumbnails", "exports", "webhooks", "billing-daily",
    "reindex", "default", "priority"};
static const char *const lg_threads[] = {
    "main", "http-nio-8080-exec-%n", "pool-%n-thread-%n", "scheduler-%n",
    "kafka-consumer-%n", "ForkJoinPool.commonPool-worker-%n",
    "grpc-default-executor-%n", "RMCommunicator Allocator"};
static const char *const lg_pkgs[] = {
    "com.example.orders", "com.example.billing", "com.example.common.db",
    "org.springframework.web.servlet", "org.apache.catalina.core",
    "io.netty.channel.nio", "com.zaxxer.hikari.pool", "java.util.concurrent",
    "org.apache.kafka.clients.consumer.internals", "java.lang"};
static const char *const lg_classes[] = {
    "OrderService", "PaymentGateway", "DispatcherServlet", "HikariPool",
    "StandardWrapperValve", "NioEventLoop", "ThreadPoolExecutor",
    "OrderRepository", "JdbcTemplate", "ConsumerCoordinator",
    "InvoiceRenderer$Worker", "Thread"};
static const char *const lg_methods[] = {
    "process", "handle", "invoke", "doFilter", "getConnection", "run",
    "execute", "lambda$submit$0", "apply", "call", "poll", "render",
    "runWorker", "doDispatch"};
static const char *const lg_exceptions[] = {
    "java.lang.IllegalStateException: Connection pool exhausted after %dms",
    "java.net.SocketTimeoutException: Read timed out",
    "java.lang.NullPointerException: Cannot invoke \"String.length()\" "
    "because \"name\" is null",
    "java.io.IOException: Broken pipe",
    "org.springframework.dao.DataIntegrityViolationException: could not "
    "execute statement; constraint [uk_%w_%w]",
    "java.util.concurrent.TimeoutException: Timeout waiting for task %u",
    "java.lang.IllegalArgumentException: Invalid <status> & \"value\" %n"};
static const char *const lg_py_code[] = {
    "result = handler(payload)", "return self._session.execute(query, params)",
    "data = json.loads(body)", "resp.raise_for_status()",
    "raise ValueError(f\"bad value: {value!r}\")",
    "for row in cursor.fetchmany(size=batch):", "await asyncio.wait_for(fut, timeout)"};
static const char *const lg_py_errors[] = {
    "KeyError: '%w_id'",
    "ValueError: invalid literal for int() with base 10: '%x'",
    "ConnectionResetError: [Errno 104] Connection reset by peer",
    "TimeoutError: timed out after %ns",
    "requests.exceptions.HTTPError: 503 Server Error: Service Unavailable "
    "for url: http://%h:%p/api/v1/%w"};
static const char *const lg_agents[] = {
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 "
    "Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 "
    "Safari/604.1",
    "curl/8.5.0", "Go-http-client/1.1", "python-requests/2.31.0",
    "kube-probe/1.29", "Prometheus/2.48.0"};
static const char *const lg_paths[] = {
    "/", "/index.html", "/favicon.ico", "/healthz", "/static/js/app.%x.js",
    "/static/css/main.%x.css", "/images/products/%n.jpg", "/api/v1/users/%n",
    "/api/v1/orders/%N/items", "/api/v2/search?q=%w&page=%n&sort=desc",
    "/v2/%X/servers/detail", "/login", "/cart/add?sku=%x&qty=%n",
    "/api/v1/%w?limit=%n&offset=%n", "/api/v1/orders/%N", "/wp-login.php",
    "/.env", "/api/v1/%w/%u"};

#endif
