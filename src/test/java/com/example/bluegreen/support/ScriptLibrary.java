package com.example.bluegreen.support;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The scripts' own library, asked directly: a bash that sources scripts/lib/common.sh and config.sh, loads
 * the settings (defaults, unless given) and runs a command. Tests read the scripts' facts (defaults, the
 * worst-case formula) from here instead of copying or scraping them.
 */
public final class ScriptLibrary {

	private static final Path SCRIPTS = Path.of("scripts").toAbsolutePath();

	private ScriptLibrary() {
	}

	/** The output of COMMAND run after load_config, with only the given settings in the environment. */
	public static String call(Map<String, String> settings, String command) {
		Map<String, String> env = new HashMap<>();
		env.put("PATH", System.getenv("PATH"));
		env.put("HOME", System.getProperty("java.io.tmpdir"));
		env.put("APP_HOME", Path.of(System.getProperty("java.io.tmpdir"), "bluegreen-library").toString());
		env.putAll(settings);
		String script = "set -Eeuo pipefail; source " + SCRIPTS.resolve("lib/common.sh") + "; source "
				+ SCRIPTS.resolve("lib/config.sh") + "; load_config; " + command;
		ScriptProcess.Result result = ScriptProcess.start(Path.of("/bin/bash"), env, List.of("-c", script).toArray(String[]::new))
			.waitFor(Duration.ofSeconds(30));
		if (result.exitCode() != 0) {
			throw new IllegalStateException("bash -c '" + command + "' failed: " + result);
		}
		return result.stdout().trim();
	}

	public static String call(String command) {
		return call(Map.of(), command);
	}

	/** A command's worst case in seconds, from scripts/lib/timing.sh. */
	public static int worstCase(String step, Map<String, String> settings) {
		return Integer.parseInt(call(settings, "worst_case " + step));
	}

}
