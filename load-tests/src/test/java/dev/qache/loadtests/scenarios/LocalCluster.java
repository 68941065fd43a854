package dev.qache.loadtests.scenarios;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

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

    static final Path ROOT = Path.of(System.getProperty("qache.root", "..")).toAbsolutePath();
    private static final String JAVA = ProcessHandle.current().info().command().orElse("java");

    /** A started process: its role, address and OS process. */
    record Member(String name, String host, int port, Process process, String scheme) {
        String url() {
            return scheme + "://" + host + ":" + port;
        }

        String address() {
            return host + ":" + port;
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

    private final List<String> nodeOptions = new ArrayList<>();
    private boolean dataTokens;

    /** Set by {@link #withNetworkNamespaces()}: each node runs in a network namespace of its own. */
    private Namespaces namespaces;

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
    /**
     * Runs every node in a network namespace of its own, joined to this one by a veth pair, so a
     * node can be cut off from the router or from another node with iptables ({@link #partition},
     * {@link #heal}). Needs root, {@code ip} and {@code iptables}.
     */
    LocalCluster withNetworkNamespaces() throws IOException, InterruptedException {
        namespaces = new Namespaces();
        return this;
    }

    /**
     * Drops every packet between {@code node} (a node, or a router in a namespace of its own) and
     * the router (when {@code from} is null) or {@code from}.
     */
    void partition(Member node, Member from) throws IOException, InterruptedException {
        String peer = from == null ? namespaces.hostSide(node.name()) : from.host();
        namespaces.inside(node.name(), "iptables", "-A", "INPUT", "-s", peer, "-j", "DROP");
        namespaces.inside(node.name(), "iptables", "-A", "OUTPUT", "-d", peer, "-j", "DROP");
    }

    /** Ends every partition of {@code node}. */
    void heal(Member node) throws IOException, InterruptedException {
        namespaces.inside(node.name(), "iptables", "-F");
    }

    private void allocateRouterPorts() throws IOException {
        if (routerPorts.isEmpty()) {
            for (int i = 0; i < routerCount; i++) {
                routerPorts.add(freePort());
                routerRaftPorts.add(freePort());
            }
        }
    }

    /**
     * Nodes started from now on ask the routers to hand their shard over when they get SIGTERM
     * ({@code qache.node.shutdown.routers}, as {@code ./qache up} sets it). After {@link
     * #withRouters}, when there are several.
     */
    LocalCluster withShutdownHandOff() throws IOException {
        allocateRouterPorts();
        List<String> urls = new ArrayList<>();
        for (int i = 0; i < routerCount; i++) {
            urls.add((tlsDir != null ? "https" : "http") + "://" + routerHost(i) + ":" + routerPorts.get(i));
        }
        nodeOptions.add("-Dqache.node.shutdown.routers=" + String.join(",", urls));
        return this;
    }

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
            Member primary = behindSlowLink(startNode("node-s" + i));
            nodes.put("s" + i, primary);
            all.add(primary);
            List<Member> shardReplicas = new ArrayList<>();
            for (int r = 1; r <= replicasPerShard; r++) {
                shardReplicas.add(behindSlowLink(startNode("node-s" + i + "-r" + r)));
            }
            replicas.put("s" + i, shardReplicas);
            all.addAll(shardReplicas);
        }
        awaitReady(all);
        startRouter(routerOptions);
        awaitWritable();
        return this;
    }

    /**
     * Until every primary holds a write lease from the router (as {@code ./qache up} waits): a write
     * sent before that is refused, and a test's first writes would race the router's first probes.
     */
    void awaitWritable() {
        await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(50))
                .ignoreExceptions()
                .until(() -> {
                    com.fasterxml.jackson.databind.JsonNode view = new com.fasterxml.jackson.databind.ObjectMapper()
                            .readTree(admin("/admin/cluster").body());
                    for (com.fasterxml.jackson.databind.JsonNode shard : view.path("shards")) {
                        com.fasterxml.jackson.databind.JsonNode primary =
                                shard.path("nodes").get(0);
                        if (primary.path("leaseRemainingMillis").asLong(0) <= 0) {
                            return false;
                        }
                    }
                    return true;
                });
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
        String host = namespaces == null ? "127.0.0.1" : namespaces.create(name);
        return launch(
                name, host, port, ROOT.resolve("node/target/quarkus-app/quarkus-run.jar"), all.toArray(String[]::new));
    }

    /** Restarts a killed member on its port and waits until it is ready. */
    Member restart(Member member, String... options) throws IOException {
        SlowLink link = slowLinks.get(member.port());
        Member again = startNode(member.name(), link == null ? member.port() : link.targetPort(), options);
        if (link != null) {
            again = new Member(again.name(), again.host(), member.port(), again.process(), again.scheme());
        }
        awaitReady(List.of(again));
        return again;
    }

    /** Set by {@link #withSlowLinks()}: every node is reached through a {@link SlowLink}, by its port. */
    private Map<Integer, SlowLink> slowLinks = Map.of();

    /**
     * Puts every node started by {@link #start} behind a {@link SlowLink}: the map names the link's
     * address, so the router's calls and the replicas' streams to that node all cross it.
     */
    LocalCluster withSlowLinks() {
        if (namespaces != null) {
            throw new IllegalStateException("slow links and network namespaces do not combine");
        }
        slowLinks = new LinkedHashMap<>();
        return this;
    }

    /** The slow link in front of {@code member} (after {@link #withSlowLinks()}). */
    SlowLink slowLink(Member member) {
        return slowLinks.get(member.port());
    }

    private Member behindSlowLink(Member node) throws IOException {
        if (!(slowLinks instanceof LinkedHashMap)) {
            return node;
        }
        SlowLink link = new SlowLink(node.host(), node.port());
        slowLinks.put(link.port(), link);
        return new Member(node.name(), node.host(), link.port(), node.process(), node.scheme());
    }

    /** The router's Raft log and snapshots: kept across its restarts, like its port. */
    Path routerDataDir() {
        return routerDataDir(0);
    }

    /** Router {@code index}'s (0-based) Raft log and snapshots. */
    Path routerDataDir(int index) {
        return dir.resolve(routerCount == 1 ? "router-data" : "router-data-r" + (index + 1));
    }

    /**
     * Routers from now on: {@code count} of them (1, 3 or 5), one Raft group, each with its own
     * HTTP port, Raft port and data directory. Call before {@link #start}.
     */
    LocalCluster withRouters(int count) {
        routerCount = count;
        return this;
    }

    /**
     * (Re)starts every router on its data directory, all at once (a group of several elects only
     * once a majority runs); the shards (and the map file, and the nodes' maps) seed the group only
     * when its Raft state is empty. Returns the first.
     */
    Member startRouter(String... extraOptions) throws Exception {
        List<Member> started = new ArrayList<>();
        for (int i = 0; i < routerCount; i++) {
            started.add(launchRouter(i, extraOptions));
        }
        awaitReady(started);
        return started.getFirst();
    }

    /** (Re)starts router {@code index} alone, on its ports and data directory. */
    Member startRouter(int index, String... extraOptions) throws Exception {
        Member started = launchRouter(index, extraOptions);
        awaitReady(List.of(started));
        return started;
    }

    private Member launchRouter(int index, String... extraOptions) throws Exception {
        StringBuilder spec = new StringBuilder();
        nodes.forEach((shard, node) -> {
            spec.append(spec.isEmpty() ? "" : ",").append(shard).append('=').append(node.address());
            for (Member replica : replicas.getOrDefault(shard, List.of())) {
                spec.append(';').append(replica.address());
            }
        });
        allocateRouterPorts();
        List<String> options = new ArrayList<>(List.of(
                "-Xmx256m",
                "-Dqache.cluster.map-push-interval=500ms",
                "-Dqache.router.map-file="
                        + dir.resolve(index == 0 ? "cluster-map.json" : "cluster-map-r" + (index + 1) + ".json"),
                "-Dqache.router.data-dir=" + routerDataDir(index),
                "-Dqache.router.shards=" + spec,
                "-Dqache.router.forward-timeout=500ms"));
        if (routerCount == 1) {
            options.add("-Dqache.router.raft-port=" + routerRaftPorts.getFirst());
        } else {
            List<String> peers = new ArrayList<>();
            List<String> urls = new ArrayList<>();
            for (int i = 0; i < routerCount; i++) {
                String host = routerHost(i);
                peers.add("r" + (i + 1) + "=" + host + ":" + routerRaftPorts.get(i));
                urls.add("r" + (i + 1) + "=" + (tlsDir != null ? "https" : "http") + "://" + host + ":"
                        + routerPorts.get(i));
            }
            options.add("-Dqache.router.peers=" + String.join(",", peers));
            options.add("-Dqache.router.peer-urls=" + String.join(",", urls));
            options.add("-Dqache.router.id=r" + (index + 1));
            // Elections on this shared 2-core machine: short enough that writes come back within
            // 2 s of a leader's loss, long enough not to flap under load.
            options.add("-Dqache.router.raft.election-timeout-min=500ms");
            options.add("-Dqache.router.raft.election-timeout-max=1000ms");
        }
        options.addAll(tokenOptions(true));
        options.addAll(List.of(extraOptions));
        Member started = launch(
                routerName(index),
                routerHost(index),
                routerPorts.get(index),
                ROOT.resolve("router/target/quarkus-app/quarkus-run.jar"),
                options.toArray(String[]::new));
        while (routers.size() <= index) {
            routers.add(null);
        }
        routers.set(index, started);
        return started;
    }

    private String routerName(int index) {
        return routerCount == 1 ? "router" : "router-r" + (index + 1);
    }

    /**
     * Where router {@code index} listens: loopback, or with {@link #withNetworkNamespaces} and
     * several routers, a namespace of its own, so that a router can be cut off from the others
     * ({@link #partition}) while it still reaches the nodes.
     */
    private String routerHost(int index) throws IOException {
        return namespaces == null || routerCount == 1 ? "127.0.0.1" : namespaces.create(routerName(index));
    }

    /** Copies a directory tree: a backup of a router's data directory. */
    static void copyTree(java.nio.file.Path from, java.nio.file.Path to) throws java.io.IOException {
        try (java.util.stream.Stream<java.nio.file.Path> paths = java.nio.file.Files.walk(from)) {
            for (java.nio.file.Path path : paths.toList()) {
                java.nio.file.Files.copy(path, to.resolve(from.relativize(path).toString()));
            }
        }
    }

    /** Deletes a directory tree: a router's lost disk. */
    static void deleteTree(java.nio.file.Path root) throws java.io.IOException {
        try (java.util.stream.Stream<java.nio.file.Path> paths = java.nio.file.Files.walk(root)) {
            for (java.nio.file.Path path :
                    paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                java.nio.file.Files.delete(path);
            }
        }
    }

    /** The first router whose process runs (admin calls go to it). */
    Member router() {
        for (Member member : routers) {
            if (member != null && member.process().isAlive()) {
                return member;
            }
        }
        return routers.getFirst();
    }

    /** Every router, by index, as last started (the process may have been killed since). */
    List<Member> routers() {
        return List.copyOf(routers);
    }

    private int routerCount = 1;
    private final List<Member> routers = new ArrayList<>();
    private final List<Integer> routerPorts = new ArrayList<>();
    private final List<Integer> routerRaftPorts = new ArrayList<>();

    /** Starts the admin UI against this cluster's router and waits until it is ready. */
    Member startAdminUi() throws IOException {
        List<String> options = new ArrayList<>(List.of(
                "-Xmx128m",
                "-Dqache.admin.token-file=" + tokenFile("admin-token"),
                "-Dqache.security.reload-interval=" + TOKEN_RELOAD.toMillis() + "ms",
                "-Dqache.router.url=" + router().url()));
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
        return send(HttpRequest.newBuilder(URI.create(router().url() + path))
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
        return send(HttpRequest.newBuilder(URI.create(router().url() + path))
                .header("Authorization", "Bearer " + ADMIN_TOKEN));
    }

    /**
     * Waits until the newest migration {@code GET /admin/migrations} lists is done. When it is not
     * within {@code within}, fails with what a stuck migration is made of: its last progress read,
     * the map, and the router's log.
     */
    void awaitMigrationDone(Duration within, String what) {
        java.util.concurrent.atomic.AtomicReference<String> last =
                new java.util.concurrent.atomic.AtomicReference<>("nothing read");
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        try {
            await().atMost(within)
                    .pollInterval(Duration.ofMillis(100))
                    .ignoreExceptions()
                    .until(() -> {
                        com.fasterxml.jackson.databind.JsonNode m = json.readTree(
                                        admin("/admin/migrations").body())
                                .path("migrations")
                                .path(0);
                        last.set(String.valueOf(m));
                        return m.path("state").asText().equals("done");
                    });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            String map;
            try {
                map = admin("/admin/cluster").body();
            } catch (IOException | InterruptedException unread) {
                map = "(unread: " + unread + ")";
            }
            throw new AssertionError(
                    what + ": the migration is not done after " + within.toSeconds() + " s; last read " + last.get()
                            + "\nmap: " + map + "\nrouter: " + logTail(router(), 80),
                    e);
        }
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

    /** SIGTERM, as systemd or ECS stop a member, and waits until it has exited. */
    void terminate(Member member) throws InterruptedException {
        member.process().destroy();
        if (!member.process().waitFor(60, TimeUnit.SECONDS)) {
            throw new AssertionError(member.name() + " did not exit within 60 s of SIGTERM:\n" + logTail(member, 40));
        }
    }

    /** SIGKILL: the process gets no chance to clean up. */
    void kill(Member member) throws InterruptedException {
        member.process().destroyForcibly();
        member.process().waitFor(10, TimeUnit.SECONDS);
    }

    private Member launch(String name, int port, Path jar, String... options) throws IOException {
        return launch(name, "127.0.0.1", port, jar, options);
    }

    private Member launch(String name, String host, int port, Path jar, String... options) throws IOException {
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar + " is missing: the scenario tests run after ./mvnw package");
        }
        List<String> command = new ArrayList<>(List.of(
                JAVA,
                "--sun-misc-unsafe-memory-access=allow",
                // The router's Ratis loads its (shaded) Netty native transport.
                "--enable-native-access=ALL-UNNAMED",
                "-Dquarkus.http.host=" + host,
                "-Dquarkus.http.port=" + port));
        if (!host.equals("127.0.0.1")) {
            // `ip netns exec` execs the JVM in the namespace: the pid stays the JVM's.
            command.addAll(0, List.of("ip", "netns", "exec", namespaces.name(name)));
        }
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
        return new Member(name, host, port, process, tlsDir == null ? "http" : "https");
    }

    void awaitReady(Iterable<Member> members) {
        for (Member member : members) {
            await().atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> {
                        if (!member.process().isAlive()) {
                            throw new IllegalStateException(member.name() + " exited (code "
                                    + member.process().exitValue() + "): " + logTail(member, 40));
                        }
                        try {
                            return get(member.url() + "/q/health/ready").statusCode() == 200;
                        } catch (IOException notYet) {
                            return false;
                        }
                    });
        }
    }

    /**
     * A loopback port nothing listens on, below the kernel's ephemeral range (32768-60999 by
     * default) and handed out once per test JVM. A port the kernel picks for {@code bind(0)} is an
     * ephemeral one: between this pick and the member's own bind, seconds later, any outgoing
     * connection of the busy machine may take it as its local port and the member exits at start.
     */
    static int freePort() throws IOException {
        for (int tries = 0; tries < PORTS_TO; tries++) {
            int port = PORTS_FROM + Math.floorMod(NEXT_PORT.getAndIncrement(), PORTS_TO - PORTS_FROM);
            try (ServerSocket socket = new ServerSocket()) {
                socket.bind(new InetSocketAddress("127.0.0.1", port));
                return port;
            } catch (IOException taken) {
                // Someone listens there (or it lingers): the next one.
            }
        }
        throw new IOException("no free loopback port in " + PORTS_FROM + "-" + PORTS_TO);
    }

    private static final int PORTS_FROM = 20_000;
    private static final int PORTS_TO = 32_000;

    /** Starts where this JVM's pid points, so two test JVMs at once rarely pick the same ports. */
    private static final AtomicInteger NEXT_PORT =
            new AtomicInteger((int) (ProcessHandle.current().pid() * 97 % (PORTS_TO - PORTS_FROM)));

    /** The last lines of a member's log, for the message of a test that failed on it. */
    String logTail(Member member, int lines) {
        try (var logs = Files.list(dir)) {
            Path log = logs.filter(f -> f.getFileName().toString().startsWith(member.name() + "-"))
                    .filter(f -> f.getFileName().toString().endsWith(".log"))
                    .max(Comparator.comparingLong(f -> f.toFile().lastModified()))
                    .orElse(null);
            if (log == null) {
                return "(no log of " + member.name() + " in " + dir + ")";
            }
            List<String> all = Files.readAllLines(log);
            return log + ", last lines:\n"
                    + String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(its log in " + dir + " unreadable: " + e + ")";
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
        if (namespaces != null) {
            namespaces.close();
        }
        for (SlowLink link : slowLinks.values()) {
            try {
                link.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    /**
     * The network namespaces of a cluster's nodes: node k lives in {@code q<id>n<k>} at
     * {@code 10.<net>.<k>.2}, this namespace's end of its veth pair is {@code 10.<net>.<k>.1}, and
     * this namespace forwards between them, so nodes reach each other and the router reaches them.
     */
    private static final class Namespaces {
        private static final AtomicInteger CLUSTERS = new AtomicInteger(new java.util.Random().nextInt(100));
        private final int id = CLUSTERS.incrementAndGet() % 100;
        private final int net = 100 + id;
        private final Map<String, Integer> index = new LinkedHashMap<>();

        Namespaces() throws IOException, InterruptedException {
            run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
            // A test JVM stopped from outside still removes its namespaces.
            Runtime.getRuntime().addShutdownHook(new Thread(this::close));
        }

        String name(String node) {
            return "q" + id + "n" + index.get(node);
        }

        String hostSide(String node) {
            return "10." + net + "." + index.get(node) + ".1";
        }

        /** Creates the node's namespace the first time (a restart keeps it); returns its address. */
        String create(String node) throws IOException {
            if (index.containsKey(node)) {
                return "10." + net + "." + index.get(node) + ".2";
            }
            int k = index.size() + 1;
            index.put(node, k);
            String ns = name(node);
            String host = "q" + id + "h" + k;
            String inner = "q" + id + "i" + k;
            try {
                run("ip", "netns", "add", ns);
                run("ip", "link", "add", host, "type", "veth", "peer", "name", inner);
                run("ip", "link", "set", inner, "netns", ns);
                run("ip", "addr", "add", hostSide(node) + "/24", "dev", host);
                run("ip", "link", "set", host, "up");
                inside(node, "ip", "addr", "add", "10." + net + "." + k + ".2/24", "dev", inner);
                inside(node, "ip", "link", "set", inner, "up");
                inside(node, "ip", "link", "set", "lo", "up");
                inside(node, "ip", "route", "add", "default", "via", hostSide(node));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
            return "10." + net + "." + k + ".2";
        }

        void inside(String node, String... command) throws IOException, InterruptedException {
            List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", name(node)));
            all.addAll(List.of(command));
            run(all.toArray(String[]::new));
        }

        synchronized void close() {
            for (String node : new ArrayList<>(index.keySet())) {
                try {
                    run("ip", "netns", "del", name(node)); // takes its veth pair with it
                    index.remove(node);
                } catch (Exception e) {
                    // best effort: a namespace left behind is removed by its name next time
                }
            }
        }

        private static void run(String... command) throws IOException, InterruptedException {
            Process process =
                    new ProcessBuilder(command).redirectErrorStream(true).start();
            String output =
                    new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (process.waitFor() != 0) {
                throw new IOException(String.join(" ", command) + " failed: " + output);
            }
        }
    }
}
