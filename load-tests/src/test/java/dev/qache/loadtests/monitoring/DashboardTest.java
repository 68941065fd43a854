package dev.qache.loadtests.monitoring;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboard loads: it is JSON of the shape Grafana's dashboard model gives the fields
 * it uses (checked against {@code dashboard.schema.json}), its panels have distinct ids and fit
 * the 24-column grid without overlapping, and each has a unit. (MonitoringIT checks that every
 * metric it queries exists.)
 */
class DashboardTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<Error> validate(String dashboard) throws Exception {
        Schema schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                .getSchema(Files.readString(Monitoring.DASHBOARD_SCHEMA), InputFormat.JSON);
        return schema.validate(dashboard, InputFormat.JSON);
    }

    @Test
    void theDashboard_matchesTheSchemaOfTheGrafanaFieldsItUses() throws Exception {
        assertThat(validate(Files.readString(Monitoring.DASHBOARD))).isEmpty();
    }

    @Test
    void theSchema_refusesAPanelWithoutAQuery_oraWrongDatasource() throws Exception {
        ObjectNode dashboard = (ObjectNode) JSON.readTree(Monitoring.DASHBOARD.toFile());
        ((ObjectNode) dashboard.path("panels").get(0)).remove("targets");
        ((ObjectNode) dashboard.path("panels").get(1).path("datasource")).put("type", "loki");
        List<Error> errors = validate(JSON.writeValueAsString(dashboard));
        assertThat(errors).hasSize(2);
        assertThat(errors.toString()).contains("targets").contains("prometheus");
    }

    @Test
    void panels_haveDistinctIds_fitTheGrid_doNotOverlap_andHaveAUnit() throws Exception {
        JsonNode panels = JSON.readTree(Monitoring.DASHBOARD.toFile()).path("panels");
        Set<Integer> ids = new HashSet<>();
        Set<String> cells = new HashSet<>();
        for (JsonNode panel : panels) {
            String title = panel.path("title").asText();
            assertThat(ids.add(panel.path("id").asInt())).as("id of %s", title).isTrue();
            JsonNode at = panel.path("gridPos");
            int x = at.path("x").asInt();
            int w = at.path("w").asInt();
            assertThat(x + w).as("%s within 24 columns", title).isLessThanOrEqualTo(24);
            for (int row = at.path("y").asInt();
                    row < at.path("y").asInt() + at.path("h").asInt();
                    row++) {
                for (int column = x; column < x + w; column++) {
                    assertThat(cells.add(row + ":" + column))
                            .as("%s overlaps another panel", title)
                            .isTrue();
                }
            }
            assertThat(panel.path("fieldConfig").path("defaults").path("unit").asText())
                    .as("unit of %s", title)
                    .isNotEmpty();
        }
        assertThat(ids).hasSizeGreaterThanOrEqualTo(10);
    }
}
