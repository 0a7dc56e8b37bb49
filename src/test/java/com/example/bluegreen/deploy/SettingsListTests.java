package com.example.bluegreen.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.example.bluegreen.support.ScriptLibrary;
import com.example.bluegreen.support.ScriptProcess;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The one list of settings (scripts/lib/settings.tsv) and the one list of tools (scripts/lib/tools.tsv):
 * what the scripts read is what the README documents and what CI installs.
 */
class SettingsListTests {

	private static final Path REPOSITORY = Path.of("").toAbsolutePath();

	private static final Pattern README_ROW = Pattern.compile("^\\| `([A-Z0-9_]+)` \\| (?:`(.*)`|\\(empty\\)) \\|", Pattern.MULTILINE);

	@Test
	void theReadmeConfigurationTableIsTheSettingsList() throws IOException {
		Map<String, String> readme = new LinkedHashMap<>();
		Matcher row = README_ROW.matcher(readmeSection("## Configuration"));
		while (row.find()) {
			readme.put(row.group(1), (row.group(2) != null) ? row.group(2).replace("\\|", "|") : "");
		}

		assertThat(readme).containsExactlyEntriesOf(settings());
	}

	@Test
	void everySettingHasADefaultTheScriptsAccept() {
		for (String name : settings().keySet()) {
			assertThat(ScriptLibrary.call("[[ -v " + name + " ]] && echo set")).as(name).isEqualTo("set");
		}
	}

	@Test
	void aSettingOfTheWrongTypeIsRefusedNamingIt() {
		for (Map.Entry<String, String> bad : Map.of("STOP_TIMEOUT", "soon", "KEEP_OLD", "yes", "BLUE_PORT", "70000",
				"SWITCH_MODE", "magic", "FIRST_COLOR", "red").entrySet()) {
			assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> ScriptLibrary.call(Map.of(bad.getKey(), bad.getValue()), "true")))
				.as(bad.getKey())
				.hasMessageContaining(bad.getKey() + "=" + bad.getValue());
		}
	}

	@Test
	void ciRunsTheReadmesTestCommandWhichInstallsTheToolsListAndTheReadmeNamesEveryPackage() throws IOException {
		String ci = Files.readString(REPOSITORY.resolve(".ci/run"));
		String readme = Files.readString(REPOSITORY.resolve("README.md"));

		assertThat(readme.lines().limit(15)).anySatisfy((line) -> assertThat(line).startsWith("scripts/test.sh"));
		assertThat(ci).contains("scripts/test.sh");
		assertThat(Files.readString(REPOSITORY.resolve("scripts/test.sh"))).contains("scripts/setup.sh", "./mvnw -B verify");
		assertThat(Files.readString(REPOSITORY.resolve("scripts/setup.sh"))).contains("scripts/lib/tools.tsv");
		for (List<String> tool : tools()) {
			assertThat(readme).as("README names the package of %s", tool.get(0)).contains(tool.get(1));
		}
	}

	@Test
	void setupFindsAMissingCommandEvenWhereAFileOfItsNameIsHere() throws Exception {
		// A PATH with every tool of the list but nginx, run from the project (which has an nginx/ directory).
		Path bin = Files.createTempDirectory("setup-path");
		for (List<String> tool : tools()) {
			Path command = Path.of("/usr/bin", tool.get(0));
			for (String dir : List.of("/usr/sbin", "/usr/bin", "/sbin", "/bin")) {
				if (Files.isExecutable(Path.of(dir, tool.get(0)))) {
					command = Path.of(dir, tool.get(0));
					break;
				}
			}
			if (!tool.get(0).startsWith("/") && !tool.get(0).equals("nginx") && Files.isExecutable(command)) {
				Files.createSymbolicLink(bin.resolve(tool.get(0)), command);
			}
		}
		for (String helper : List.of("grep", "sort", "dirname", "basename", "cat")) {
			if (!Files.exists(bin.resolve(helper))) {
				Files.createSymbolicLink(bin.resolve(helper), Path.of("/usr/bin", helper));
			}
		}
		ScriptProcess.Result check = ScriptProcess
			.start(REPOSITORY.resolve("scripts/setup.sh"), Map.of("PATH", bin.toString()), "--check", "server")
			.waitFor(Duration.ofMinutes(1));
		assertThat(check.exitCode()).as(check.output()).isZero();
		assertThat(check.stdout().lines()).containsExactly("nginx");
	}

	/** NAME -> DEFAULT, in the list's order. */
	private static Map<String, String> settings() {
		Map<String, String> settings = new LinkedHashMap<>();
		for (List<String> row : rows("scripts/lib/settings.tsv")) {
			settings.put(row.get(0), row.get(2));
		}
		return settings;
	}

	private static List<List<String>> tools() {
		return rows("scripts/lib/tools.tsv");
	}

	private static List<List<String>> rows(String file) {
		try {
			return Files.readAllLines(REPOSITORY.resolve(file))
				.stream()
				.filter((line) -> !line.isBlank() && !line.startsWith("#"))
				.map((line) -> List.of(line.split("\t", -1)))
				.toList();
		}
		catch (IOException ex) {
			throw new IllegalStateException(ex);
		}
	}

	private static String readmeSection(String heading) throws IOException {
		String readme = Files.readString(REPOSITORY.resolve("README.md"));
		int start = readme.indexOf("\n" + heading + "\n");
		assertThat(start).as(heading).isNotNegative();
		int end = readme.indexOf("\n## ", start + heading.length() + 2);
		return readme.substring(start, (end < 0) ? readme.length() : end);
	}

}
