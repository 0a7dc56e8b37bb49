package com.example.bluegreen.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.example.bluegreen.support.ScriptProcess;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Every bash script of the repository passes shellcheck, following what it sources. */
class ShellcheckTests {

	@Test
	void everyScriptPassesShellcheck() throws IOException {
		List<String> scripts = bashScripts();
		assertThat(scripts).contains("scripts/deploy.sh", "scripts/lib/common.sh", ".ci/run", "src/test/hosts/hosts.sh");
		Path shellcheck = Stream.of("/usr/bin/shellcheck", "/usr/local/bin/shellcheck")
			.map(Path::of)
			.filter(Files::isExecutable)
			.findFirst()
			.orElseThrow(() -> new IllegalStateException("shellcheck is not installed: apt-get install shellcheck"));
		// One shellcheck per script, as many at once as there are cores: -x analyses every sourced helper again
		// for each script, which takes seconds per script.
		List<ScriptProcess.Result> findings = scripts.parallelStream()
			.map((script) -> ScriptProcess.start(shellcheck, Map.of(), "-x", script).waitFor(Duration.ofMinutes(3)))
			.filter((result) -> result.exitCode() != 0)
			.toList();

		assertThat(findings).as("shellcheck -x:\n%s", findings.stream().map(ScriptProcess.Result::output).toList())
			.isEmpty();
	}

	/** Files under scripts/, .ci/ and src/test/hosts/ that are bash: a bash shebang or a shellcheck shell=bash directive. */
	private static List<String> bashScripts() throws IOException {
		List<String> scripts = new ArrayList<>();
		for (String dir : List.of("scripts", ".ci", "src/test/hosts")) {
			try (Stream<Path> files = Files.walk(Path.of(dir))) {
				for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
					String first = Files.readAllLines(file).stream().findFirst().orElse("");
					if (first.startsWith("#!/usr/bin/env bash") || first.contains("shell=bash")) {
						scripts.add(file.toString());
					}
				}
			}
		}
		return scripts;
	}

}
