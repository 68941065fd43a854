package dev.qache.router;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The router's boundaries (STYLE.md, "Pure core, thin edges"): the ring and the routing policy are
 * plain Java; routing knows nothing of how calls are made; the data path (proxy) and the control
 * plane point one way, data to control, never back; no two packages import each other, directly
 * or round a loop.
 */
class ArchitectureTest {

    private static final String[] FRAMEWORKS = {
        "io.quarkus..",
        "io.vertx..",
        "jakarta..",
        "io.micrometer..",
        "io.smallrye..",
        "org.eclipse..",
        "org.apache.ratis.."
    };

    private final JavaClasses classes = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.qache.router");

    @Test
    void ringAndRouting_dependOnNoFramework() {
        noClasses()
                .that()
                .resideInAnyPackage("dev.qache.router.ring..", "dev.qache.router.routing..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(FRAMEWORKS)
                .check(classes);
    }

    @Test
    void routing_dependsOnlyOnTheMapAndTheRing() {
        noClasses()
                .that()
                .resideInAPackage("dev.qache.router.routing..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "dev.qache.router.proxy..",
                        "dev.qache.router.admin..",
                        "dev.qache.router.control..",
                        "dev.qache.router.failover..",
                        "dev.qache.router.migration..",
                        "dev.qache.router.config..")
                .check(classes);
    }

    @Test
    void dataPath_isNotImportedByTheControlPlane() {
        noClasses()
                .that()
                .resideOutsideOfPackages("dev.qache.router.proxy..")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("dev.qache.router.proxy..")
                .check(classes);
    }

    @Test
    void dataPath_reachesNoControlDecision() {
        noClasses()
                .that()
                .resideInAnyPackage("dev.qache.router.proxy..", "dev.qache.router.routing..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "dev.qache.router.admin..", "dev.qache.router.control..", "dev.qache.router.migration..")
                .check(classes);
    }

    @Test
    void packages_formNoCycles() {
        slices().matching("dev.qache.router.(*)..").should().beFreeOfCycles().check(classes);
    }
}
