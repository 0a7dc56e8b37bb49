package com.example.bluegreen.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.example.bluegreen.support.BackingServices;
import com.example.bluegreen.support.DeployHarness;
import com.example.bluegreen.support.HttpConnection;
import com.example.bluegreen.support.ScriptProcess;
import com.example.bluegreen.support.TestJars;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The local flow needs no root: nginx.sh start, deploy.sh, status.sh, stop.sh all --force and nginx.sh stop
 * run as an unprivileged user on ports above 1024, with an APP_HOME and a copy of scripts/, nginx/ and the
 * jar that this user owns. Run as root (as CI does), the scripts run as "nobody" through setpriv, with an
 * empty environment besides the settings; run as anyone else, as that user.
 */
class UnprivilegedDeployIntegrationTests {

	private static final Path PROJECT = Path.of("").toAbsolutePath();

	private static final String UNPRIVILEGED = "nobody";

	private final boolean root = "0".equals(id("-u"));

	private final String user = this.root ? UNPRIVILEGED : System.getProperty("user.name");

	private Path home;

	private Path appHome;

	private final Map<String, String> settings = new LinkedHashMap<>();

	@BeforeEach
	void prepareAHomeOwnedByTheUser() throws IOException {
		BackingServices.ensureRunning();
		this.home = Files.createTempDirectory("bluegreen-unprivileged-");
		copy(PROJECT.resolve("scripts"), this.home.resolve("repo/scripts"));
		copy(PROJECT.resolve("nginx"), this.home.resolve("repo/nginx"));
		Files.copy(TestJars.current(), this.home.resolve("app.jar"));
		this.appHome = this.home.resolve("app");
		if (this.root) {
			giveTo(this.home, UNPRIVILEGED, id("-gn", UNPRIVILEGED));
		}
		this.settings.put("APP_HOME", this.appHome.toString());
		this.settings.put("PUBLIC_PORT", Integer.toString(freePort()));
		this.settings.put("BLUE_PORT", Integer.toString(freePort()));
		this.settings.put("GREEN_PORT", Integer.toString(freePort()));
		this.settings.put("JAVA_BIN", Path.of(System.getProperty("java.home"), "bin", "java").toString());
		this.settings.put("JAVA_OPTS", "-Xmx256m");
		this.settings.put("NGINX_BIN", Tools.require("nginx", "nginx").toString());
		this.settings.put("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
	}

	@AfterEach
	void stopAndRemove() throws IOException {
		if (this.home == null) {
			return;
		}
		if (Files.exists(this.appHome)) {
			run("stop.sh", "all", "--force");
			run("nginx.sh", "stop");
		}
		try (Stream<Path> files = Files.walk(this.home)) {
			files.sorted(Comparator.reverseOrder()).forEach((file) -> file.toFile().delete());
		}
	}

	@Test
	void localFlowRunsWithoutRoot() throws IOException {
		String uid = id("-u", this.user);
		int publicPort = Integer.parseInt(this.settings.get("PUBLIC_PORT"));

		assertSucceeded(run("nginx.sh", "start"));
		long nginx = Long.parseLong(Files.readString(this.appHome.resolve("nginx/nginx.pid")).trim());
		assertThat(uidOf(nginx)).as("nginx's master runs as %s", this.user).isEqualTo(uid);

		assertSucceeded(run("deploy.sh", this.home.resolve("app.jar").toString()));
		long blue = Long.parseLong(Files.readString(this.appHome.resolve("run/blue.pid")).trim());
		assertThat(uidOf(blue)).as("blue runs as %s", this.user).isEqualTo(uid);
		try (HttpConnection connection = new HttpConnection("127.0.0.1", publicPort)) {
			HttpConnection.Response version = connection.get("/api/version", Map.of());
			assertThat(version.status()).isEqualTo(200);
			assertThat(version.body()).contains("\"color\":\"blue\"");
			HttpConnection.Response page = connection.get("/", Map.of());
			assertThat(page.status()).isEqualTo(200);
			assertThat(page.header("Set-Cookie")).as("a session in Redis").startsWith("SESSION=");
		}

		ScriptProcess.Result status = run("status.sh", "--json");
		assertSucceeded(status);
		assertThat(DeployHarness.jsonField(status.stdout(), "live")).isEqualTo("blue");

		AppHomePermissions.assertTight(this.appHome);
		assertThat(filesNotOwnedBy(this.user)).as("files under APP_HOME not owned by %s", this.user).isEmpty();

		assertSucceeded(run("stop.sh", "all", "--force"));
		await().atMost(Duration.ofSeconds(30)).until(() -> !DeployHarness.isRunning(blue));
		assertSucceeded(run("nginx.sh", "stop"));
		await().atMost(Duration.ofSeconds(30)).until(() -> !DeployHarness.isRunning(nginx));
	}

	/** The script as the unprivileged user, with nothing of this JVM's environment but the settings. */
	private ScriptProcess.Result run(String script, String... args) {
		Path path = this.home.resolve("repo/scripts").resolve(script);
		if (!this.root) {
			return ScriptProcess.start(path, this.settings, args).waitFor(Duration.ofMinutes(6));
		}
		List<String> command = new ArrayList<>(List.of("--reuid=" + UNPRIVILEGED, "--regid=" + id("-g", UNPRIVILEGED),
				"--clear-groups", "--reset-env", "env"));
		this.settings.forEach((name, value) -> command.add(name + "=" + value));
		command.add(path.toString());
		command.addAll(List.of(args));
		return ScriptProcess.start(Tools.require("setpriv", "util-linux"), Map.of(), command.toArray(String[]::new))
			.waitFor(Duration.ofMinutes(6));
	}

	private static void assertSucceeded(ScriptProcess.Result result) {
		assertThat(result.exitCode()).as("%s", result).isZero();
	}

	private List<Path> filesNotOwnedBy(String owner) throws IOException {
		try (Stream<Path> files = Files.walk(this.appHome)) {
			return files.filter((file) -> !owner.equals(AppHomePermissions.owner(file))).toList();
		}
	}

	/** The real uid of a running process, from /proc. */
	private static String uidOf(long pid) throws IOException {
		return Files.readAllLines(Path.of("/proc/" + pid + "/status"))
			.stream()
			.filter((line) -> line.startsWith("Uid:"))
			.map((line) -> line.split("\\s+")[1])
			.findFirst()
			.orElseThrow();
	}

	private static String id(String... args) {
		ScriptProcess.Result result = ScriptProcess.start(Tools.require("id", "coreutils"), Map.of(), args)
			.waitFor(Duration.ofSeconds(30));
		assertSucceeded(result);
		return result.stdout().trim();
	}

	private static void copy(Path from, Path to) throws IOException {
		Files.createDirectories(to.getParent());
		try (Stream<Path> files = Files.walk(from)) {
			for (Path file : files.toList()) {
				Files.copy(file, to.resolve(from.relativize(file).toString()), StandardCopyOption.COPY_ATTRIBUTES);
			}
		}
	}

	private static void giveTo(Path tree, String owner, String group) throws IOException {
		UserPrincipalLookupService lookup = tree.getFileSystem().getUserPrincipalLookupService();
		GroupPrincipal groupPrincipal = lookup.lookupPrincipalByGroupName(group);
		try (Stream<Path> files = Files.walk(tree)) {
			for (Path file : files.toList()) {
				PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class,
						LinkOption.NOFOLLOW_LINKS);
				view.setOwner(lookup.lookupPrincipalByName(owner));
				view.setGroup(groupPrincipal);
			}
		}
	}

	/** A port nothing listens on, distinct from the other settings' ports. */
	private int freePort() {
		try (ServerSocket socket = new ServerSocket(0)) {
			int port = socket.getLocalPort();
			return this.settings.containsValue(Integer.toString(port)) ? freePort() : port;
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

}
