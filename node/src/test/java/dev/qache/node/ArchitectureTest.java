package dev.qache.node;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The store is a plain Java package: no framework may leak into it (STYLE.md, "pure core"). */
class ArchitectureTest {

    private final JavaClasses classes = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.qache.node");

    @Test
    void store_dependsOnNoFramework() {
        noClasses()
                .that()
                .resideInAPackage("dev.qache.node.store..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "io.quarkus..", "io.vertx..", "jakarta..", "io.micrometer..", "io.smallrye..", "org.eclipse..")
                .check(classes);
    }

    @Test
    void store_dependsOnNoOtherNodePackage() {
        noClasses()
                .that()
                .resideInAPackage("dev.qache.node.store..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("dev.qache.node.api..", "dev.qache.node.config..", "dev.qache.node.metrics..")
                .check(classes);
    }

    @Test
    void packages_formNoCycles() {
        slices().matching("dev.qache.node.(*)..").should().beFreeOfCycles().check(classes);
    }
}
