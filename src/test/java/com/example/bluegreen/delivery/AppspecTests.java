package com.example.bluegreen.delivery;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import com.example.bluegreen.support.ScriptLibrary;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * appspec.yml as the CodeDeploy agent reads it, and its timeouts against the worst case of the scripts
 * with the default settings, asked from the scripts themselves (scripts/lib/timing.sh worst_case, over
 * scripts/lib/settings.tsv). CodeDeployIntegrationTests runs the hooks for real.
 */
class AppspecTests {

	private static final Path REPOSITORY = Path.of("").toAbsolutePath();

	/** CodeDeploy's limit for the scripts of one lifecycle event. */
	private static final int MAX_EVENT_SECONDS = 3600;

	/** {@code aws deploy wait deployment-successful}: 120 polls, 15 s apart. */
	private static final int JENKINS_WAIT_SECONDS = 120 * 15;

	@Test
	void appspecIsVersionZeroForLinux() throws IOException {
		AppSpec spec = appspec();

		assertThat(spec.document()).containsEntry("version", 0.0);
		assertThat(spec.os()).isEqualTo("linux");
	}

	@Test
	void fileExistsBehaviorIsAValidTopLevelKeyAndNotTheInvalidOverwrite() throws IOException {
		AppSpec spec = appspec();

		assertThat(spec.document()).containsKey("file_exists_behavior").doesNotContainKey("overwrite");
		assertThat(spec.fileExistsBehavior()).isIn(AppSpec.FILE_EXISTS_BEHAVIORS).isEqualTo("OVERWRITE");
		assertThat(spec.files()).singleElement().satisfies((mapping) -> {
			assertThat(mapping.source()).isEqualTo("/");
			assertThat(mapping.destination()).startsWith("/");
		});
		assertThat(spec.document().get("files")).asString().doesNotContain("overwrite");
	}

	@Test
	void hooksAreTheInPlaceEventsInTheAgentsOrder() throws IOException {
		AppSpec spec = appspec();

		assertThat(spec.hooks().keySet()).containsExactlyElementsOf(AppSpec.SCRIPT_EVENTS);
		assertThat(AppSpec.IN_PLACE_EVENTS).containsSubsequence(spec.hooks().keySet());
	}

	@Test
	void everyHookScriptExistsIsExecutableAndIsAStrictBashScript() throws IOException {
		for (AppSpec.HookScript script : scripts()) {
			Path path = REPOSITORY.resolve(script.location());
			assertThat(path).as(script.location()).isRegularFile().isExecutable();
			List<String> lines = Files.readAllLines(path);
			assertThat(lines.get(0)).as(script.location()).isEqualTo("#!/usr/bin/env bash");
			assertThat(lines).as(script.location()).contains("set -Eeuo pipefail");
			assertThat(lines.stream().filter((line) -> !line.isBlank()).reduce((a, b) -> b)).as(script.location())
				.contains("main \"$@\"");
		}
	}

	@Test
	void everyHookHasATimeoutWithinTheAgentsLimitAndOnlyThePreparationRunsAsRoot() throws IOException {
		assertThat(scripts()).allSatisfy((script) -> {
			assertThat(script.timeout()).as(script.location()).isPositive().isLessThanOrEqualTo(MAX_EVENT_SECONDS);
			assertThat(script.runas()).as(script.location()).isNotBlank();
		});
		assertThat(appspec().hooks().values()).allSatisfy((scripts) -> assertThat(
				scripts.stream().mapToInt(AppSpec.HookScript::timeout).sum()).isLessThanOrEqualTo(MAX_EVENT_SECONDS));
		assertThat(scripts()).filteredOn((script) -> "root".equals(script.runas()))
			.extracting(AppSpec.HookScript::location)
			.containsExactly("scripts/codedeploy/prepare-app-home.sh");
	}

	@Test
	void applicationStartTimeoutCoversTheDeploysWorstCaseWithTheDefaultSettings() throws IOException {
		int worstCase = ScriptLibrary.worstCase("deploy", Map.of());

		assertThat(timeout("ApplicationStart")).as("ApplicationStart timeout vs deploy.sh worst case %ss", worstCase)
			.isGreaterThanOrEqualTo(worstCase);
	}

	@Test
	void validateServiceTimeoutCoversTheCheckAndARollback() throws IOException {
		int worstCase = ScriptLibrary.worstCase("validate", Map.of());

		assertThat(timeout("ValidateService")).as("ValidateService timeout vs check + rollback %ss", worstCase)
			.isGreaterThanOrEqualTo(worstCase);
	}

	@Test
	void theCommentsQuoteTheWorstCasesTheScriptsCompute() throws IOException {
		String appspec = Files.readString(REPOSITORY.resolve("appspec.yml"));

		assertThat(appspec).contains("worst_case deploy = " + ScriptLibrary.worstCase("deploy", Map.of()) + " s",
				"worst_case validate = " + ScriptLibrary.worstCase("validate", Map.of()) + " s");
	}

	@Test
	void theWorstCaseGrowsWithEverySettingItCounts() {
		int base = ScriptLibrary.worstCase("deploy", Map.of());

		for (String setting : List.of("READY_TIMEOUT", "VERIFY_TIMEOUT", "BAKE_TIME", "DRAIN_TIMEOUT", "STOP_TIMEOUT",
				"FAST_START_TIMEOUT")) {
			String value = ScriptLibrary.call("echo ${" + setting + "}");
			int raised = ScriptLibrary.worstCase("deploy", Map.of(setting, Integer.toString(Integer.parseInt(value) + 100)));
			assertThat(raised).as("worst case with %s raised by 100 s", setting).isGreaterThan(base);
		}
		assertThat(ScriptLibrary.worstCase("deploy", Map.of("FAST_START", "false"))).isLessThan(base);
	}

	@Test
	void allHooksTogetherEndBeforeTheJenkinsfileStopsWaitingForTheDeployment() throws IOException {
		int total = scripts().stream().mapToInt(AppSpec.HookScript::timeout).sum();

		assertThat(Files.readString(REPOSITORY.resolve("Jenkinsfile"))).contains("aws deploy wait deployment-successful");
		assertThat(total).isLessThan(JENKINS_WAIT_SECONDS);
	}

	@Test
	void applicationStopOfThePreviousRevisionStopsNothing() throws IOException {
		String script = Files.readString(REPOSITORY.resolve(appspec().hooks("ApplicationStop").get(0).location()));

		assertThat(script).doesNotContain("/stop.sh", "stop_color", "kill ", "/rollback.sh", "/deploy.sh");
		assertThat(script).contains("PREVIOUS revision", "never fails");
	}

	private static int timeout(String event) throws IOException {
		return appspec().hooks(event).stream().mapToInt(AppSpec.HookScript::timeout).sum();
	}

	private static List<AppSpec.HookScript> scripts() throws IOException {
		return appspec().hooks().values().stream().flatMap(List::stream).toList();
	}

	private static AppSpec appspec() throws IOException {
		return AppSpec.load(REPOSITORY.resolve("appspec.yml"));
	}

}
