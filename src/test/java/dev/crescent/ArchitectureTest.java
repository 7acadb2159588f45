package dev.crescent;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The package ladder (docs/DESIGN.md): each rung may use only the rungs below it, packages on one rung never use
 * each other, and no two packages, at any depth, depend on each other in a loop. Read from the compiled service
 * classes (tests and benchmarks are not part of the ladder).
 */
class ArchitectureTest {
    /** Bottom to top; packages on one rung are siblings. */
    static final List<List<String>> LADDER = List.of(
            List.of("common"),
            List.of("config"),
            List.of("alloc", "meta", "transfer"),
            List.of("protocol"),
            List.of("master", "worker"),
            List.of("client"),
            List.of("api"),
            List.of("boot"),
            List.of("cli"));

    private static JavaClasses service;

    @BeforeAll
    static void importServiceClasses() {
        service = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.crescent");
    }

    @Test
    void everyTopLevelPackageStandsOnOneRung() {
        List<String> onLadder = LADDER.stream().flatMap(List::stream).toList();
        List<String> off = service.stream()
                .map(c -> c.getPackageName().split("\\."))
                .filter(p -> p.length > 2)
                .map(p -> p[2])
                .distinct()
                .filter(p -> !onLadder.contains(p))
                .toList();
        assertTrue(off.isEmpty(), "packages not on the ladder (add them to it and to DESIGN.md): " + off);
    }

    @Test
    void importsPointDownTheLadder() {
        List<String> violations = new ArrayList<>();
        for (int rung = 0; rung < LADDER.size(); rung++) {
            List<String> higher = new ArrayList<>();
            for (int above = rung + 1; above < LADDER.size(); above++) {
                LADDER.get(above).forEach(p -> higher.add(pkg(p)));
            }
            for (String name : LADDER.get(rung)) {
                List<String> forbidden = new ArrayList<>(higher);
                LADDER.get(rung).stream()
                        .filter(sibling -> !sibling.equals(name))
                        .forEach(s -> forbidden.add(pkg(s)));
                if (forbidden.isEmpty()) {
                    continue;
                }
                ArchRule rule = noClasses()
                        .that()
                        .resideInAPackage(pkg(name))
                        .should()
                        .dependOnClassesThat()
                        .resideInAnyPackage(forbidden.toArray(String[]::new));
                collect(rule.evaluate(service), violations);
            }
        }
        assertTrue(violations.isEmpty(), "imports pointing up or across the ladder:\n" + String.join("\n", violations));
    }

    @Test
    void noPackagesDependOnEachOtherInALoop() {
        List<String> violations = new ArrayList<>();
        collect(slices().matching("dev.crescent.(**)").should().beFreeOfCycles().evaluate(service), violations);
        assertTrue(violations.isEmpty(), "package cycles:\n" + String.join("\n", violations));
    }

    @Test
    void theCheckSeesTheWholeService() {
        // A rule over no classes passes whatever the code does: make sure the ladder is read from real classes.
        assertFalse(service.isEmpty());
        assertTrue(service.stream().anyMatch(c -> c.getPackageName().equals("dev.crescent.boot")));
        assertTrue(service.stream().anyMatch(c -> c.getPackageName().equals("dev.crescent.common")));
    }

    private static String pkg(String name) {
        return "dev.crescent." + name + "..";
    }

    private static void collect(EvaluationResult result, List<String> into) {
        if (result.hasViolation()) {
            into.addAll(result.getFailureReport().getDetails());
        }
    }
}
