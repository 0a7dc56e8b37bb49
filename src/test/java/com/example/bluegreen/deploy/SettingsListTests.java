package com.example.bluegreen.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.example.bluegreen.support.ScriptLibrary;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The one list of settings (scripts/lib/settings.tsv) and the one list of tools (scripts/lib/tools.tsv):
 * what the scripts read is what the README documents and what CI installs.
 */
class SettingsListTests {

	private static final Path REPOSITORY = Path.of("").toAbsolutePath();

	private static final Pattern README_ROW = Pattern.compile("^\\| `([A-Z_]+)` \\| (?:`(.*)`|\\(empty\\)) \\|", Pattern.MULTILINE);

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
