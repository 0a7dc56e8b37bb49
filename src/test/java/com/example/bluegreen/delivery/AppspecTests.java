package com.example.bluegreen.delivery;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * appspec.yml as the CodeDeploy agent reads it, and its timeouts against the worst case of the scripts
 * with the default settings, read from the scripts themselves (scripts/lib/common.sh apply_defaults and the
 * hooks' defaults in scripts/codedeploy/lib.sh). CodeDeployIntegrationTests runs the hooks for real.
 */
class AppspecTests {

	private static final Path REPOSITORY = Path.of("").toAbsolutePath();

	private static final Pattern DEFAULT = Pattern.compile(":\\s+\"\\$\\{([A-Z_]+):=([0-9]+)}\"");

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
		int worstCase = deployWorstCase(defaults());

		assertThat(timeout("ApplicationStart")).as("ApplicationStart timeout vs deploy.sh worst case %ss", worstCase)
			.isGreaterThanOrEqualTo(worstCase);
	}

	@Test
	void validateServiceTimeoutCoversTheCheckAndARollback() throws IOException {
		Map<String, Integer> defaults = defaults();
		int worstCase = defaults.get("VALIDATE_TIMEOUT") + deployWorstCase(defaults);

		assertThat(timeout("ValidateService")).as("ValidateService timeout vs check + rollback %ss", worstCase)
			.isGreaterThanOrEqualTo(worstCase);
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

	/**
	 * deploy.sh's worst case as scripts/codedeploy/lib.sh deploy_worst_case computes it: draining and stopping
	 * a color left warm, readiness and warm-up, the check through nginx, the bake, draining and stopping the
	 * old color, and a margin.
	 */
	private static int deployWorstCase(Map<String, Integer> settings) {
		return 2 * (settings.get("DRAIN_TIMEOUT") + settings.get("STOP_TIMEOUT")) + settings.get("READY_TIMEOUT")
				+ settings.get("WARMUP_TIME_LIMIT") + settings.get("VERIFY_TIMEOUT") + settings.get("BAKE_TIME")
				+ settings.get("WORST_CASE_MARGIN");
	}

	/** The numeric defaults of the deploy scripts and of the hooks, and the hooks' margin. */
	private static Map<String, Integer> defaults() throws IOException {
		Map<String, Integer> defaults = new LinkedHashMap<>();
		String common = Files.readString(REPOSITORY.resolve("scripts/lib/common.sh"));
		String applyDefaults = common.substring(common.indexOf("apply_defaults() {"));
		applyDefaults = applyDefaults.substring(0, applyDefaults.indexOf("\n}\n"));
		collectDefaults(applyDefaults, defaults);
		String hooks = Files.readString(REPOSITORY.resolve("scripts/codedeploy/lib.sh"));
		collectDefaults(hooks, defaults);
		Matcher margin = Pattern.compile("readonly WORST_CASE_MARGIN=([0-9]+)").matcher(hooks);
		assertThat(margin.find()).as("WORST_CASE_MARGIN in scripts/codedeploy/lib.sh").isTrue();
		defaults.put("WORST_CASE_MARGIN", Integer.parseInt(margin.group(1)));
		Matcher warmUp = Pattern.compile("readonly WARMUP_TIME_LIMIT=([0-9]+)").matcher(common);
		assertThat(warmUp.find()).as("WARMUP_TIME_LIMIT in scripts/lib/common.sh").isTrue();
		defaults.put("WARMUP_TIME_LIMIT", Integer.parseInt(warmUp.group(1)));
		assertThat(defaults).containsKeys("READY_TIMEOUT", "VERIFY_TIMEOUT", "BAKE_TIME", "DRAIN_TIMEOUT",
				"STOP_TIMEOUT", "VALIDATE_TIMEOUT");
		// The margin covers at least the port waits after the two stops (10 s each) and nginx's start (10 s).
		assertThat(defaults.get("WORST_CASE_MARGIN")).isGreaterThanOrEqualTo(30);
		return defaults;
	}

	private static void collectDefaults(String source, Map<String, Integer> defaults) {
		Matcher matcher = DEFAULT.matcher(source);
		while (matcher.find()) {
			defaults.put(matcher.group(1), Integer.parseInt(matcher.group(2)));
		}
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
