package com.example.bluegreen.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A deploy target of its own for a test: a temp APP_HOME, free ports, the real scripts and the real
 * private nginx. close() stops both colors and nginx and removes the directory.
 */
public final class DeployHarness implements AutoCloseable {

	private static final Path SCRIPTS = Path.of("scripts").toAbsolutePath();

	/** The tests start dozens of JVMs on two cores: C1 only and the serial GC start them fastest. */
	public static final String TEST_JAVA_OPTS = "-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC";

	private final Path appHome;

	private final Map<String, String> env = new HashMap<>();

	private DeployHarness(Path appHome, String mode, Map<String, String> settings) {
		this.appHome = appHome;
		this.env.put("APP_HOME", appHome.toString());
		this.env.put("PUBLIC_PORT", Integer.toString(FreePorts.next()));
		this.env.put("BLUE_PORT", Integer.toString(FreePorts.next()));
		this.env.put("GREEN_PORT", Integer.toString(FreePorts.next()));
		this.env.put("SWITCH_MODE", mode);
		this.env.put("JAVA_BIN", Path.of(System.getProperty("java.home"), "bin", "java").toString());
		this.env.put("JAVA_OPTS", TEST_JAVA_OPTS);
		this.env.put("WARMUP_REQUESTS", "2");
		// Each harness is a fresh APP_HOME: a class data archive per release would cost a training run in
		// every test class. The fast start has tests of its own.
		this.env.put("FAST_START", "false");
		this.env.putAll(settings);
	}

	/** A new APP_HOME with its private nginx running, nothing deployed yet. */
	public static DeployHarness start(String mode, Map<String, String> settings) {
		BackingServices.ensureRunning();
		try {
			Path appHome = Files.createTempDirectory("bluegreen-it-");
			DeployHarness harness = new DeployHarness(appHome, mode, settings);
			ScriptProcess.Result nginx = harness.run("nginx.sh", "start");
			if (nginx.exitCode() != 0) {
				harness.close();
				throw new IllegalStateException("nginx did not start (is it installed? apt-get install nginx): " + nginx);
			}
			return harness;
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	public static DeployHarness start(String mode) {
		return start(mode, Map.of());
	}

	/** A new APP_HOME with the current jar deployed and live. */
	public static DeployHarness deployed(String mode) {
		DeployHarness harness = start(mode);
		ScriptProcess.Result first = harness.run("deploy.sh", TestJars.current().toString());
		if (first.exitCode() != 0) {
			harness.close();
			throw new IllegalStateException("the first deploy failed: " + first);
		}
		return harness;
	}

	public ScriptProcess.Result run(String script, String... args) {
		return run(Map.of(), script, args);
	}

	public ScriptProcess.Result run(Map<String, String> settings, String script, String... args) {
		return launch(settings, script, args).waitFor(Duration.ofMinutes(6));
	}

	public ScriptProcess launch(String script, String... args) {
		return launch(Map.of(), script, args);
	}

	public ScriptProcess launch(Map<String, String> settings, String script, String... args) {
		Map<String, String> environment = new HashMap<>(this.env);
		environment.putAll(settings);
		return ScriptProcess.start(SCRIPTS.resolve(script), environment, args);
	}

	public int publicPort() {
		return Integer.parseInt(this.env.get("PUBLIC_PORT"));
	}

	public int port(String color) {
		return Integer.parseInt(this.env.get(color.toUpperCase() + "_PORT"));
	}

	public Path appHome() {
		return this.appHome;
	}

	public String setting(String name) {
		return this.env.get(name);
	}

	/** The live color, from status.sh --json (which reads the live pointer). */
	public String liveColor() {
		return jsonField(run("status.sh", "--json").stdout(), "live");
	}

	/** The last line of state/deploys.jsonl. */
	public String lastHistory() {
		try {
			List<String> lines = Files.readAllLines(this.appHome.resolve("state/deploys.jsonl"));
			return lines.get(lines.size() - 1);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	/** The X-App-Color of N requests through nginx's public port, on one keep-alive connection. */
	public List<String> answeringColors(int requests) {
		List<String> colors = new ArrayList<>();
		try (HttpConnection connection = new HttpConnection("127.0.0.1", publicPort())) {
			for (int i = 0; i < requests; i++) {
				colors.add(connection.get("/api/version", Map.of()).header("X-App-Color"));
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		return colors;
	}

	/** The pid in the color's pid file, or -1. */
	public long pid(String color) {
		try {
			Path file = this.appHome.resolve("run/" + color + ".pid");
			return Files.exists(file) ? Long.parseLong(Files.readString(file).trim()) : -1;
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	/** Running and not a zombie: an exited process waits as a zombie until its parent (init) reaps it. */
	public static boolean isRunning(long pid) {
		try {
			String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
			return pid > 0 && stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
		}
		catch (IOException ex) {
			return false;
		}
	}

	/**
	 * Whatever still runs from this APP_HOME after the scripts stopped it (a failed test can leave a deploy
	 * holding the lock, so stop.sh exits 3): its colors and its nginx, found by the markers on their
	 * command lines, so that no process of this test consumes another test's messages.
	 */
	private void killLeftovers() {
		String colorMarker = "-Dbluegreen.home=" + this.appHome;
		String nginxMarker = "-p " + this.appHome.resolve("nginx");
		ProcessHandle.allProcesses()
			.filter((process) -> process.info().commandLine().filter((line) -> line.contains(colorMarker + " ")
					|| line.endsWith(colorMarker) || line.contains(nginxMarker)).isPresent())
			.forEach((process) -> {
				process.destroyForcibly();
				process.onExit().orTimeout(10, java.util.concurrent.TimeUnit.SECONDS).exceptionally((ex) -> null).join();
			});
	}

	public static String other(String color) {
		return "blue".equals(color) ? "green" : "blue";
	}

	public static String jsonField(String json, String field) {
		Matcher matcher = Pattern.compile("\"" + field + "\":\"([^\"]*)\"").matcher(json);
		return matcher.find() ? matcher.group(1) : null;
	}

	@Override
	public void close() {
		run("stop.sh", "all", "--force");
		run("nginx.sh", "stop");
		killLeftovers();
		try (Stream<Path> files = Files.walk(this.appHome)) {
			files.sorted(Comparator.reverseOrder()).forEach((file) -> file.toFile().delete());
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

}
