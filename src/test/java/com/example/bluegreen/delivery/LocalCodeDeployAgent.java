package com.example.bluegreen.delivery;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A stand-in for the CodeDeploy agent on one instance (there is no AWS here), doing with a revision what
 * aws-codedeploy-agent does in an in-place deployment:
 * <ul>
 * <li>ApplicationStop runs the scripts of the last <em>successful</em> deployment's revision, from its archive
 * directory; on the first deployment there is none and nothing runs;</li>
 * <li>DownloadBundle unpacks the zip with {@code unzip} (file modes kept) into
 * {@code deployment-root/<group id>/<deployment id>/deployment-archive};</li>
 * <li>BeforeInstall, then Install: the files the previous deployment installed are removed, then the
 * {@code files} section is copied, honoring {@code file_exists_behavior}; then AfterInstall, ApplicationStart,
 * ValidateService;</li>
 * <li>each script: made executable if it is not, run with the agent's environment plus LIFECYCLE_EVENT,
 * DEPLOYMENT_ID, APPLICATION_NAME, DEPLOYMENT_GROUP_NAME, DEPLOYMENT_GROUP_ID, in a process group of its own
 * ({@code setsid}), stdin closed, stdout/stderr read until they close; at its timeout the group gets SIGTERM
 * (the agent's {@code Process.kill('-TERM')}) and, here, SIGKILL after a grace period; a non-zero exit or a
 * timeout fails the deployment and the remaining events are not run.</li>
 * </ul>
 * Differences, on purpose: scripts run as the current user unless the agent is told to apply {@code runas}
 * ({@code su <runas> -c <script>}, as the real agent does; that needs the users and root: a booted test
 * host, through {@link #main(String[])}), absolute {@code files} destinations land under {@code hostRoot}, and the working
 * directory is the deployment root (the agent's is its own, never the archive directory). A hook that leaves
 * a process holding its stdout/stderr makes the real agent wait forever; here it fails the deployment.
 */
final class LocalCodeDeployAgent {

	private static final Duration KILL_GRACE = Duration.ofSeconds(10);

	private final Path deploymentRoot;

	private final Path hostRoot;

	private final Map<String, String> environment;

	private final String applicationName = "bluegreen";

	private final String groupName = "local";

	private final String groupId = UUID.randomUUID().toString();

	private final List<Path> installed = new ArrayList<>();

	private final boolean applyRunas;

	private Path lastSuccessfulArchive;

	LocalCodeDeployAgent(Path deploymentRoot, Path hostRoot, Map<String, String> environment) {
		this(deploymentRoot, hostRoot, environment, false);
	}

	LocalCodeDeployAgent(Path deploymentRoot, Path hostRoot, Map<String, String> environment, boolean applyRunas) {
		this.deploymentRoot = deploymentRoot;
		this.hostRoot = hostRoot;
		this.environment = Map.copyOf(environment);
		this.applyRunas = applyRunas;
	}

	/**
	 * The agent on a host of its own (a booted test host, as root): {@code DEPLOYMENT_ROOT BUNDLE...} deploys
	 * the bundles one after another, files to their real destinations, each hook as its {@code runas} user.
	 * Prints each deployment; exits 0 when all succeeded, 1 at the first that failed.
	 */
	public static void main(String[] args) throws IOException, InterruptedException {
		if (args.length < 2) {
			System.err.println("usage: LocalCodeDeployAgent DEPLOYMENT_ROOT BUNDLE...");
			System.exit(2);
		}
		Map<String, String> environment = Map.of("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"LANG", "C.UTF-8");
		LocalCodeDeployAgent agent = new LocalCodeDeployAgent(Path.of(args[0]), Path.of("/"), environment, true);
		for (int i = 1; i < args.length; i++) {
			Deployment deployment = agent.deploy(Path.of(args[i]));
			System.out.println("=== " + args[i] + ": " + deployment);
			if (!deployment.succeeded()) {
				System.exit(1);
			}
		}
	}

	Path hostPath(String absolute) {
		if (!absolute.startsWith("/")) {
			throw new IllegalArgumentException("files destination must be absolute: " + absolute);
		}
		return this.hostRoot.resolve(absolute.substring(1));
	}

	Deployment deploy(Path bundle) throws IOException, InterruptedException {
		String id = deploymentId();
		Path root = this.deploymentRoot.resolve(this.groupId).resolve(id);
		Path archive = root.resolve("deployment-archive");
		List<HookRun> runs = new ArrayList<>();
		Deployment deployment = new Deployment(id, archive, runs);
		if (this.lastSuccessfulArchive != null
				&& !runEvent(deployment, "ApplicationStop", this.lastSuccessfulArchive)) {
			return deployment;
		}
		Files.createDirectories(archive);
		exec(List.of("unzip", "-q", bundle.toString(), "-d", archive.toString()), "DownloadBundle");
		AppSpec spec = AppSpec.load(archive.resolve("appspec.yml"));
		if (!runEvent(deployment, "BeforeInstall", archive)) {
			return deployment;
		}
		try {
			install(spec, archive);
			deployment.events().add("Install");
		}
		catch (IOException | IllegalStateException ex) {
			deployment.fail("Install", ex.getMessage());
			return deployment;
		}
		for (String event : List.of("AfterInstall", "ApplicationStart", "ValidateService")) {
			if (!runEvent(deployment, event, archive)) {
				return deployment;
			}
		}
		this.lastSuccessfulArchive = archive;
		return deployment;
	}

	private static String deploymentId() {
		String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
		StringBuilder id = new StringBuilder("d-");
		for (int i = 0; i < 9; i++) {
			id.append(alphabet.charAt(ThreadLocalRandom.current().nextInt(alphabet.length())));
		}
		return id.toString();
	}

	private boolean runEvent(Deployment deployment, String event, Path archive)
			throws IOException, InterruptedException {
		AppSpec spec = AppSpec.load(archive.resolve("appspec.yml"));
		List<AppSpec.HookScript> scripts = spec.hooks(event);
		if (!scripts.isEmpty()) {
			deployment.events().add(event);
		}
		for (AppSpec.HookScript script : scripts) {
			HookRun run = runScript(deployment.id(), event, archive, script);
			deployment.hooks().add(run);
			if (!run.succeeded()) {
				deployment.fail(event, run.error());
				return false;
			}
		}
		return true;
	}

	private HookRun runScript(String deploymentId, String event, Path archive, AppSpec.HookScript script)
			throws IOException, InterruptedException {
		Path path = archive.resolve(script.location());
		if (!Files.exists(path)) {
			return HookRun.missing(event, path);
		}
		if (!Files.isExecutable(path) && !path.toFile().setExecutable(true)) {
			return HookRun.missing(event, path);
		}
		List<String> command = (this.applyRunas && script.runas() != null)
				? List.of("setsid", "su", script.runas(), "-c", path.toString()) : List.of("setsid", path.toString());
		ProcessBuilder builder = new ProcessBuilder(command).directory(this.deploymentRoot.toFile());
		builder.environment().clear();
		builder.environment().putAll(this.environment);
		builder.environment().putAll(Map.of("LIFECYCLE_EVENT", event, "DEPLOYMENT_ID", deploymentId, "APPLICATION_NAME",
				this.applicationName, "DEPLOYMENT_GROUP_NAME", this.groupName, "DEPLOYMENT_GROUP_ID", this.groupId));
		long started = System.nanoTime();
		Process process = builder.start();
		process.getOutputStream().close();
		StringBuffer output = new StringBuffer();
		Thread stdout = pump(process.getInputStream(), "[stdout]", output);
		Thread stderr = pump(process.getErrorStream(), "[stderr]", output);
		boolean timedOut = !process.waitFor(script.timeout(), TimeUnit.SECONDS);
		if (timedOut) {
			signalGroup(process.pid(), "TERM");
			if (!process.waitFor(KILL_GRACE.toSeconds(), TimeUnit.SECONDS)) {
				signalGroup(process.pid(), "KILL");
				process.waitFor();
			}
		}
		stdout.join(KILL_GRACE.toMillis());
		stderr.join(KILL_GRACE.toMillis());
		boolean outputHeld = stdout.isAlive() || stderr.isAlive();
		return new HookRun(event, path, process.exitValue(), timedOut, outputHeld, script.timeout(),
				Duration.ofNanos(System.nanoTime() - started), output.toString());
	}

	private static Thread pump(InputStream stream, String prefix, StringBuffer output) {
		Thread thread = new Thread(() -> {
			try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
				String line;
				while ((line = reader.readLine()) != null) {
					output.append(prefix).append(line).append('\n');
					System.out.println(prefix + line);
				}
			}
			catch (IOException ex) {
				output.append(prefix).append("(read failed: ").append(ex.getMessage()).append(")\n");
			}
		}, "hook-output" + prefix);
		thread.setDaemon(true);
		thread.start();
		return thread;
	}

	private static void signalGroup(long pid, String signal) throws IOException, InterruptedException {
		new ProcessBuilder("kill", "-" + signal, "--", "-" + pid).inheritIO().start().waitFor();
	}

	private static void exec(List<String> command, String what) throws IOException, InterruptedException {
		Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
		String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
		if (process.waitFor() != 0) {
			throw new IllegalStateException(what + " failed: " + String.join(" ", command) + "\n" + output);
		}
	}

	/** The agent's Install: remove what the previous deployment installed, then copy the files section. */
	private void install(AppSpec spec, Path archive) throws IOException {
		List<Path> previous = new ArrayList<>(this.installed);
		Collections.reverse(previous);
		for (Path path : previous) {
			if (!Files.isDirectory(path) || isEmpty(path)) {
				Files.deleteIfExists(path);
			}
		}
		this.installed.clear();
		for (AppSpec.FileMapping mapping : spec.files()) {
			Path source = archive.resolve(mapping.source().replaceFirst("^/+", ""));
			Path destination = hostPath(mapping.destination());
			if (Files.isDirectory(source) && !Files.isSymbolicLink(source)) {
				makeDirectories(destination);
				copyDirectory(spec, source, destination);
			}
			else {
				makeDirectories(destination);
				copyFile(spec, source, destination.resolve(source.getFileName()));
			}
		}
	}

	private void copyDirectory(AppSpec spec, Path source, Path destination) throws IOException {
		List<Path> entries;
		try (Stream<Path> list = Files.list(source)) {
			entries = list.sorted().toList();
		}
		for (Path entry : entries) {
			Path target = destination.resolve(entry.getFileName().toString());
			if (Files.isDirectory(entry) && !Files.isSymbolicLink(entry)) {
				makeDirectories(target);
				copyDirectory(spec, entry, target);
			}
			else {
				copyFile(spec, entry, target);
			}
		}
	}

	private void copyFile(AppSpec spec, Path source, Path target) throws IOException {
		if (Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
			switch (spec.fileExistsBehavior()) {
				case "OVERWRITE" -> Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING,
						StandardCopyOption.COPY_ATTRIBUTES, java.nio.file.LinkOption.NOFOLLOW_LINKS);
				case "RETAIN" -> {
					return;
				}
				case "DISALLOW" -> throw new IllegalStateException(
						"The deployment failed because a specified file already exists at this location: " + target);
				default -> throw new IllegalStateException(
						"The deployment failed because an invalid option was specified for fileExistsBehavior: "
								+ spec.fileExistsBehavior() + ". Valid options include OVERWRITE, RETAIN, and DISALLOW.");
			}
		}
		else {
			Files.copy(source, target, StandardCopyOption.COPY_ATTRIBUTES, java.nio.file.LinkOption.NOFOLLOW_LINKS);
		}
		this.installed.add(target);
	}

	private void makeDirectories(Path directory) throws IOException {
		List<Path> missing = new ArrayList<>();
		for (Path path = directory; path != null && !Files.exists(path); path = path.getParent()) {
			missing.add(0, path);
		}
		for (Path path : missing) {
			Files.createDirectory(path);
			this.installed.add(path);
		}
	}

	private static boolean isEmpty(Path directory) throws IOException {
		try (Stream<Path> entries = Files.list(directory)) {
			return entries.findAny().isEmpty();
		}
	}

	/** One deployment: the events that ran scripts (and Install), each script's run, and where it failed. */
	static final class Deployment {

		private final String id;

		private final Path archive;

		private final List<HookRun> hooks;

		private final List<String> events = new ArrayList<>();

		private String failedEvent;

		private String error;

		Deployment(String id, Path archive, List<HookRun> hooks) {
			this.id = id;
			this.archive = archive;
			this.hooks = hooks;
		}

		void fail(String event, String error) {
			this.failedEvent = event;
			this.error = error;
		}

		String id() {
			return this.id;
		}

		Path archive() {
			return this.archive;
		}

		List<HookRun> hooks() {
			return this.hooks;
		}

		List<String> events() {
			return this.events;
		}

		boolean succeeded() {
			return this.failedEvent == null;
		}

		String failedEvent() {
			return this.failedEvent;
		}

		String error() {
			return this.error;
		}

		String output() {
			StringBuilder output = new StringBuilder();
			this.hooks.forEach((run) -> output.append(run.output()));
			return output.toString();
		}

		Map<String, HookRun> lastRunByEvent() {
			Map<String, HookRun> runs = new LinkedHashMap<>();
			this.hooks.forEach((run) -> runs.put(run.event(), run));
			return runs;
		}

		@Override
		public String toString() {
			return "deployment " + this.id + ": " + (succeeded() ? "succeeded" : "failed in " + this.failedEvent
					+ ": " + this.error) + ", events " + this.events + "\n" + output();
		}

	}

	record HookRun(String event, Path script, int exitCode, boolean timedOut, boolean outputHeld, int timeout,
			Duration duration, String output) {

		static HookRun missing(String event, Path script) {
			return new HookRun(event, script, -1, false, false, 0, Duration.ZERO,
					"Script does not exist or is not executable at " + script + "\n");
		}

		boolean succeeded() {
			return this.exitCode == 0 && !this.timedOut && !this.outputHeld;
		}

		String error() {
			if (this.exitCode == -1) {
				return "Script does not exist or is not executable at " + this.script;
			}
			if (this.timedOut) {
				return "Script at " + this.script + " failed to complete in " + this.timeout + " seconds";
			}
			if (this.outputHeld) {
				return "Script at " + this.script + " left a process holding its stdout/stderr: the agent would wait for it";
			}
			return "Script at " + this.script + " failed with exit code " + this.exitCode;
		}

	}

	static void deleteRecursively(Path root) {
		if (root == null || !Files.exists(root)) {
			return;
		}
		try (Stream<Path> paths = Files.walk(root)) {
			paths.sorted(Collections.reverseOrder()).forEach((path) -> {
				try {
					Files.deleteIfExists(path);
				}
				catch (IOException ex) {
					throw new UncheckedIOException(ex);
				}
			});
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

}
