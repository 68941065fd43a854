package dev.qache.loadtests.monitoring;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The monitoring files in the repository: the Grafana dashboard and the Prometheus alert rules. */
public final class Monitoring {

    static final Path DIR =
            Path.of(System.getProperty("qache.root", "..")).toAbsolutePath().resolve("monitoring");
    static final Path DASHBOARD = DIR.resolve("grafana/qache.json");
    static final Path DASHBOARD_SCHEMA = DIR.resolve("grafana/dashboard.schema.json");
    static final Path ALERTS = DIR.resolve("alerts.yml");

    /** A metric name as our processes export it (PromQL functions and labels are not). */
    private static final Pattern METRIC = Pattern.compile("\\b(?:qache|http_server)_[a-z_]+\\b");

    private Monitoring() {}

    /** Every PromQL expression of the dashboard's panels, then of the alert rules. */
    public static List<String> expressions() throws IOException {
        List<String> exprs = new ArrayList<>();
        for (JsonNode panel : new ObjectMapper().readTree(DASHBOARD.toFile()).path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                exprs.add(target.path("expr").asText());
            }
        }
        for (JsonNode group :
                new ObjectMapper(new YAMLFactory()).readTree(ALERTS.toFile()).path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                exprs.add(rule.path("expr").asText());
            }
        }
        return exprs;
    }

    /** The metric names {@code exprs} use. */
    public static Set<String> metricNames(List<String> exprs) {
        Set<String> names = new TreeSet<>();
        for (String expr : exprs) {
            Matcher m = METRIC.matcher(expr);
            while (m.find()) {
                names.add(m.group());
            }
        }
        return names;
    }
}
