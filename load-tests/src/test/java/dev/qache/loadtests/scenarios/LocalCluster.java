package dev.qache.loadtests.scenarios;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Real node and router processes on free loopback ports, started from the built quarkus-app
 * folders with the JVM running the tests. Every process is awaited until ready and stopped by its
 * pid in {@link #close()}, whatever the test did.
 */
final class LocalCluster implements AutoCloseable {

    /** The tokens every process starts with, each from a token file in {@link #dir()} (see {@link #tokenFile}). */
    static final String ADMIN_TOKEN = "scenario-admin-token";

    static final String CLUSTER_TOKEN = "scenario-cluster-token";
    static final String DATA_TOKEN = "scenario-data-token";

    /** How often the processes read their token files again. */
    static final Duration TOKEN_RELOAD = Duration.ofMillis(200);

    private static final Path ROOT =
            Path.of(System.getProperty("qache.root", "..")).toAbsolutePath();
    private static final String JAVA = ProcessHandle.current().info().command().orElse("java");

    /** A started process: its role, address and OS process. */
    record Member(String name, int port, Process process, String scheme) {
        String url() {
            return scheme + "://127.0.0.1:" + port;
        }

        String address() {
            return "127.0.0.1:" + port;
        }
    }

    private final Path dir;
    private HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /** Set by {@link #withTls()}: every process then serves HTTPS only, with certificates from {@code ./qache certs}. */
    private Path tlsDir;

    private final Map<String, Member> nodes = new LinkedHashMap<>();
    private final Map<String, List<Member>> replicas = new LinkedHashMap<>();
    private final List<Process> processes = new ArrayList<>();
    private Member router;

    private final List<String> nodeOptions = new ArrayList<>();
    private boolean dataTokens;

    LocalCluster() throws IOException {
        this.dir = Files.createTempDirectory("qache-scenario");
        writeTokens("admin-token", ADMIN_TOKEN);
        writeTokens("cluster-token", CLUSTER_TOKEN);
        writeTokens("data-token", DATA_TOKEN);
    }

    /**
     * Everything over TLS from now on, as {@code ./qache up --tls} runs it: a local CA and a server
     * certificate made by {@code ./qache certs}; each process serves HTTPS only, calls nodes with
     * HTTPS (replication WSS) trusting the CA, and so does this harness.
     */
    LocalCluster withTls() throws Exception {
        tlsDir = dir.resolve("tls");
        certs(tlsDir.toString());
        java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (var in = Files.newInputStream(tlsDir.resolve("ca.pem"))) {
            trust.setCertificateEntry(
                    "ca",
                    java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        javax.net.ssl.TrustManagerFactory trustManagers =
                javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trust);
        javax.net.ssl.SSLContext ssl = javax.net.ssl.SSLContext.getInstance("TLS");
        ssl.init(null, trustManagers.getTrustManagers(), null);
        http = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(2))
                .sslContext(ssl)
                .build();
        return this;
    }

    private void certs(String... arguments) throws Exception {
        List<String> command =
                new ArrayList<>(List.of("bash", ROOT.resolve("qache").toString(), "certs"));
        command.addAll(List.of(arguments));
        Process certs = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(
                        dir.resolve("certs.log").toFile()))
                .start();
        if (!certs.waitFor(60, TimeUnit.SECONDS) || certs.exitValue() != 0) {
            throw new IllegalStateException("./qache certs failed; see " + dir.resolve("certs.log"));
        }
    }

    /** A new server certificate from the same CA ({@code ./qache certs DIR --renew}); processes reload it. */
    void renewCertificate() throws Exception {
        certs(tlsDir.toString(), "--renew");
    }

    /** The serial number of the certificate {@code member} presents now. */
    java.math.BigInteger servedCertificateSerial(Member member) throws Exception {
        javax.net.ssl.SSLContext ssl = http.sslContext();
        try (javax.net.ssl.SSLSocket socket =
                (javax.net.ssl.SSLSocket) ssl.getSocketFactory().createSocket("127.0.0.1", member.port())) {
            socket.startHandshake();
            return ((java.security.cert.X509Certificate) socket.getSession().getPeerCertificates()[0])
                    .getSerialNumber();
        }
    }

    /** The CA that signed every process's certificate, under {@link #withTls()}. */
    Path caCertificate() {
        return tlsDir.resolve("ca.pem");
    }

    /** Router and nodes require a data token ({@code qache.data.tokens-file}) from now on. */
    LocalCluster withDataTokens() {
        dataTokens = true;
        return this;
    }

    /** The file a token setting is read from: {@code admin-token}, {@code cluster-token}, {@code data-token}. */
    Path tokenFile(String name) {
        return dir.resolve(name);
    }

    /** Replaces a token file whole (written beside it, then renamed), as docs/API.md says to. */
    void writeTokens(String name, String tokens) throws IOException {
        Path next = dir.resolve(name + ".next");
        Files.writeString(next, tokens + "\n");
        Files.move(
                next,
                dir.resolve(name),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private List<String> tokenOptions(boolean admin) {
        List<String> options = new ArrayList<>(List.of(
                "-Dqache.cluster.token-file=" + tokenFile("cluster-token"),
                "-Dqache.security.reload-interval=" + TOKEN_RELOAD.toMillis() + "ms"));
        if (admin) {
            options.add("-Dqache.admin.token-file=" + tokenFile("admin-token"));
        }
        if (dataTokens) {
            options.add("-Dqache.data.tokens-file=" + tokenFile("data-token"));
        }
        return options;
    }

    /** JVM options for every node started from now on. */
    LocalCluster withNodeOptions(String... options) {
        nodeOptions.addAll(List.of(options));
        return this;
    }

    /** Starts one node per shard (s1..sN), then a router bootstrapped with them. */
    LocalCluster start(int shards) throws Exception {
        return start(shards, 0);
    }

    /** Starts a primary and {@code replicasPerShard} replicas per shard, then the router. */
    LocalCluster start(int shards, int replicasPerShard, String... routerOptions) throws Exception {
        List<Member> all = new ArrayList<>();
        for (int i = 1; i <= shards; i++) {
            Member primary = startNode("node-s" + i);
            nodes.put("s" + i, primary);
            all.add(primary);
            List<Member> shardReplicas = new ArrayList<>();
            for (int r = 1; r <= replicasPerShard; r++) {
                shardReplicas.add(startNode("node-s" + i + "-r" + r));
            }
            replicas.put("s" + i, shardReplicas);
            all.addAll(shardReplicas);
        }
        awaitReady(all);
        startRouter(routerOptions);
        return this;
    }

    Member startNode(String name) throws IOException {
        return startNode(name, freePort());
    }

    /** Starts a node on a given port: a restart of one that was killed. */
    Member startNode(String name, int port, String... options) throws IOException {
        List<String> all = new ArrayList<>(List.of("-Xmx256m", "-Dqache.node.memory-limit=64M"));
        all.addAll(tokenOptions(false));
        all.addAll(nodeOptions);
        all.addAll(List.of(options));
        return launch(name, port, ROOT.resolve("node/target/quarkus-app/quarkus-run.jar"), all.toArray(String[]::new));
    }

    /** Restarts a killed member on its port and waits until it is ready. */
    Member restart(Member member, String... options) throws IOException {
        Member again = startNode(member.name(), member.port(), options);
        awaitReady(List.of(again));
        return again;
    }

    /** (Re)starts the router on its map file; the shards are used only when there is no file yet. */
    Member startRouter(String... extraOptions) throws Exception {
        StringBuilder spec = new StringBuilder();
        nodes.forEach((shard, node) -> {
            spec.append(spec.isEmpty() ? "" : ",").append(shard).append('=').append(node.address());
            for (Member replica : replicas.getOrDefault(shard, List.of())) {
                spec.append(';').append(replica.address());
            }
        });
        int port = router == null ? freePort() : router.port;
        List<String> options = new ArrayList<>(List.of(
                "-Xmx256m",
                "-Dqache.cluster.map-push-interval=500ms",
                "-Dqache.router.map-file=" + dir.resolve("cluster-map.json"),
                "-Dqache.router.shards=" + spec,
                "-Dqache.router.forward-timeout=500ms"));
        options.addAll(tokenOptions(true));
        options.addAll(List.of(extraOptions));
        router = launch(
                "router",
                port,
                ROOT.resolve("router/target/quarkus-app/quarkus-run.jar"),
                options.toArray(String[]::new));
        awaitReady(List.of(router));
        return router;
    }

    Member router() {
        return router;
    }

    /** Starts the admin UI against this cluster's router and waits until it is ready. */
    Member startAdminUi() throws IOException {
        List<String> options = new ArrayList<>(List.of(
                "-Xmx128m",
                "-Dqache.admin.token-file=" + tokenFile("admin-token"),
                "-Dqache.security.reload-interval=" + TOKEN_RELOAD.toMillis() + "ms",
                "-Dqache.router.url=" + router.url()));
        if (tlsDir != null) {
            options.addAll(List.of(
                    "-Dquarkus.rest-client.router.tls-configuration-name=cluster",
                    "-Dqache.admin-ui.secure-cookie=true"));
        }
        Member ui = launch(
                "admin-ui",
                freePort(),
                ROOT.resolve("admin-ui/target/quarkus-app/quarkus-run.jar"),
                options.toArray(String[]::new));
        awaitReady(List.of(ui));
        return ui;
    }

    /** Where this cluster's logs go. */
    Path dir() {
        return dir;
    }

    Map<String, Member> nodes() {
        return nodes;
    }

    /** The replicas each shard started with. */
    List<Member> replicas(String shard) {
        return replicas.getOrDefault(shard, List.of());
    }

    /** SIGSTOP: the process stays, its sockets stay open, it answers nothing. */
    void freeze(Member member) throws Exception {
        signal(member, "STOP");
    }

    /** SIGCONT after {@link #freeze}. */
    void resume(Member member) throws Exception {
        signal(member, "CONT");
    }

    private static void signal(Member member, String signal) throws Exception {
        Process kill = new ProcessBuilder(
                        "kill", "-" + signal, Long.toString(member.process().pid()))
                .inheritIO()
                .start();
        if (kill.waitFor() != 0) {
            throw new IllegalStateException(
                    "kill -" + signal + " " + member.process().pid() + " failed");
        }
    }

    /** A node's {@code /_internal/status}. */
    HttpResponse<String> status(Member member) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(member.url() + "/_internal/status"))
                .header("Authorization", "Bearer " + CLUSTER_TOKEN));
    }

    HttpResponse<String> adminPost(String path, String json) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(router.url() + path))
                .header("Authorization", "Bearer " + ADMIN_TOKEN)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    HttpResponse<String> send(HttpRequest.Builder request) throws IOException, InterruptedException {
        return http.send(request.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(url)));
    }

    HttpResponse<String> post(String url, String json) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(url))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    HttpResponse<String> admin(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(router.url() + path))
                .header("Authorization", "Bearer " + ADMIN_TOKEN));
    }

    /** The shard {@code id} as the router's {@code /admin/cluster} shows it (nodes: the primary first). */
    com.fasterxml.jackson.databind.JsonNode shard(String id) throws IOException, InterruptedException {
        for (com.fasterxml.jackson.databind.JsonNode shard : new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(admin("/admin/cluster").body())
                .path("shards")) {
            if (shard.path("id").asText().equals(id)) {
                return shard;
            }
        }
        throw new IllegalStateException("no shard " + id);
    }

    /** The address of shard {@code id}'s primary, by the router's map. */
    String primaryOf(String id) throws IOException, InterruptedException {
        return shard(id).path("nodes").get(0).path("address").asText();
    }

    /** SIGKILL: the process gets no chance to clean up. */
    void kill(Member member) throws InterruptedException {
        member.process().destroyForcibly();
        member.process().waitFor(10, TimeUnit.SECONDS);
    }

    private Member launch(String name, int port, Path jar, String... options) throws IOException {
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar + " is missing: the scenario tests run after ./mvnw package");
        }
        List<String> command = new ArrayList<>(List.of(
                JAVA,
                "--sun-misc-unsafe-memory-access=allow",
                "-Dquarkus.http.host=127.0.0.1",
                "-Dquarkus.http.port=" + port));
        ProcessBuilder builder = new ProcessBuilder(command);
        if (tlsDir != null) {
            // As ./qache up --tls: HTTPS only, the certificate reloaded by the registry, the CA
            // trusted for calls to nodes and to the router; the password in the environment.
            command.addAll(List.of(
                    "-Dquarkus.http.ssl-port=" + port,
                    "-Dquarkus.http.insecure-requests=disabled",
                    "-Dquarkus.tls.key-store.p12.path=" + tlsDir.resolve("server.p12"),
                    "-Dquarkus.tls.reload-period=1s",
                    "-Dquarkus.tls.cluster.trust-store.pem.certs=" + tlsDir.resolve("ca.pem"),
                    "-Dqache.cluster.tls-configuration-name=cluster"));
            builder.environment()
                    .put(
                            "QUARKUS_TLS_KEY_STORE_P12_PASSWORD",
                            Files.readString(tlsDir.resolve("password")).strip());
        }
        command.addAll(List.of(options));
        command.addAll(List.of("-jar", jar.toString()));
        Process process = builder.redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + "-" + port + ".log").toFile())
                .start();
        processes.add(process);
        return new Member(name, port, process, tlsDir == null ? "http" : "https");
    }

    void awaitReady(Iterable<Member> members) {
        for (Member member : members) {
            await().atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> {
                        if (!member.process().isAlive()) {
                            throw new IllegalStateException(member.name() + " exited; see its log in " + dir);
                        }
                        try {
                            return get(member.url() + "/q/health/ready").statusCode() == 200;
                        } catch (IOException notYet) {
                            return false;
                        }
                    });
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @Override
    public void close() throws InterruptedException {
        for (Process process : processes) {
            process.destroyForcibly();
        }
        for (Process process : processes) {
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
