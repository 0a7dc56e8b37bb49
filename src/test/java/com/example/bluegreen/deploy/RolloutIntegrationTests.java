package com.example.bluegreen.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import com.example.bluegreen.support.DeployHarness;
import com.example.bluegreen.support.HttpConnection;
import com.example.bluegreen.support.LoadGenerator;
import com.example.bluegreen.support.ScriptProcess;
import com.example.bluegreen.support.TestJars;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

/**
 * Progressive rollout (ROLLOUT_STEPS) on the slot sockets, socket mode, real nginx and Redis: the share of
 * clients each step moves, each client kept on one color, the gate that stops a bad version, manual promote
 * and abort, a deploy killed in the middle of a rollout, and the session check before any traffic moves.
 */
class RolloutIntegrationTests {

	private static final JsonMapper JSON = JsonMapper.builder().build();

	/** nginx's keepalive_time (nginx/conf.d/app.conf): the longest a connection opened before a step serves. */
	private static final Duration KEEPALIVE_TIME = Duration.ofSeconds(5);

	/**
	 * keepalive_time is checked when a request ends: an idle connection kept since before a step serves one
	 * more request within keepalive_timeout (4 s) after it.
	 */
	private static final Duration OLD_CONNECTIONS_GONE = KEEPALIVE_TIME.plusSeconds(4).plusMillis(500);

	private static final Map<String, String> MANUAL = Map.of("ROLLOUT_STEPS", "5 25 50", "ROLLOUT_PAUSE", "manual");

	private static DeployHarness harness;

	@BeforeAll
	static void deployFirstVersion() {
		harness = DeployHarness.deployed("socket");
	}

	@AfterAll
	static void stop() {
		harness.close();
	}

	@Test
	void aManualRolloutMovesEachShareOfClientsKeepsEachClientOnOneColorAndFailsNoRequest() throws Exception {
		String live = harness.liveColor();
		String next = DeployHarness.other(live);
		Clients clients = Clients.open(harness.publicPort(), 2000);
		LoadGenerator load = new LoadGenerator("127.0.0.1", harness.publicPort(), 16, true, Duration.ofMillis(50));
		LoadGenerator.Result seen;
		List<String> report = new ArrayList<>();
		try {
			ScriptProcess.Result staged = harness.run(MANUAL, "deploy.sh", "--stage", TestJars.next().toString());
			assertThat(staged.exitCode()).as("%s", staged).isZero();
			assertThat(clients.colors().values()).as("staged: no client reaches it").containsOnly(live);
			Set<String> onNext = Set.of();
			for (int share : List.of(5, 25, 50)) {
				ScriptProcess.Result step = harness.run(MANUAL, "deploy.sh", "--promote");
				long moved = System.nanoTime();
				assertThat(step.exitCode()).as("%s", step).isZero();
				assertThat(step.stdout()).contains("paused at " + share + "%");
				assertThat(status().path("rollout_share").asInt()).isEqualTo(share);
				// Connections nginx opened to a slot before it moved serve until keepalive_time retires them.
				AtomicInteger changed = new AtomicInteger();
				AtomicReference<Map<String, String>> first = new AtomicReference<>(clients.colors());
				await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
					Map<String, String> now = clients.colors();
					changed.addAndGet(differences(first.get(), now));
					first.set(now);
					return System.nanoTime() - moved > OLD_CONNECTIONS_GONE.toNanos();
				});
				Map<String, String> settled = clients.colors();
				Map<String, String> again = clients.colors();
				assertThat(differences(settled, again)).as("clients that changed color once the old connections were gone")
					.isZero();
				Set<String> nowOnNext = settled.entrySet().stream().filter((entry) -> entry.getValue().equals(next))
					.map(Map.Entry::getKey).collect(Collectors.toSet());
				assertThat(nowOnNext).as("clients moved by an earlier step stay moved").containsAll(onNext);
				double byClients = 100.0 * nowOnNext.size() / clients.size();
				report.add(String.format("%d%%: %.1f%% of %d clients (%d changed color while old connections lived)", share,
						byClients, clients.size(), changed.get()));
				assertThat(byClients).as("share of clients at the %d%% step", share).isCloseTo(share, within(5.0));
				onNext = nowOnNext;
			}
			ScriptProcess.Result last = harness.run(MANUAL, "deploy.sh", "--promote");
			assertThat(last.exitCode()).as("%s", last).isZero();
			assertThat(last.stdout()).contains("promoted: " + next);
			// Every client on the new color once keepalive_time retired the connections of the last step.
			await().atMost(KEEPALIVE_TIME.multipliedBy(3)).until(() -> Set.of(next).containsAll(clients.colors().values()));
			ScriptProcess.Result committed = harness.run(MANUAL, "deploy.sh", "--commit");
			assertThat(committed.exitCode()).as("%s", committed).isZero();
		}
		finally {
			seen = load.stop();
			abortIfHeld();
		}
		JsonNode history = JSON.readTree(harness.lastHistory());
		assertThat(history.path("outcome").asString()).isEqualTo("success");
		List<JsonNode> steps = history.path("rollout").valueStream().toList();
		assertThat(steps).extracting((step) -> step.path("share").asInt()).containsExactly(5, 25, 50);
		for (JsonNode step : steps) {
			assertThat(step.path("decision").asString()).isEqualTo("passed");
			double byRequests = 100.0 * step.path("to").path("answers").asInt()
					/ (step.path("to").path("answers").asInt() + step.path("from").path("answers").asInt());
			report.add(String.format("%d%% step by requests (nginx's log, the gate's window): %.1f%%", step.path("share").asInt(),
					byRequests));
			assertThat(byRequests).as("share of requests at the %s%% step", step.path("share")).isCloseTo(step.path("share").asInt(),
					within(5.0));
		}
		System.out.printf("rollout 5 25 50 100 (manual), %d keep-alive clients: %d failed of %d; shares:%n  %s%n", 16,
				seen.failures().size(), seen.total(), String.join("\n  ", report));
		assertThat(seen.failures()).as("failed:%s", seen.describeFailures(10)).isEmpty();
		assertThat(clients.visitsKept()).as("each client's session counted every visit, on both colors").isTrue();
	}

	/**
	 * A version that answers 5xx to a third of its GETs, and one whose p99 is over the gate: the first step
	 * (5%) is judged and fails, every client goes back, the new color stops, exit 1.
	 */
	@ParameterizedTest(name = "{0}")
	@CsvSource({ "answers 5xx, --plain.error-every=3", "slow, --plain.delay-ms=400" })
	void theGateStopsABadVersionAtTheFirstStepAndPutsEveryClientBack(String name, String appArgs) throws Exception {
		String live = harness.liveColor();
		String next = DeployHarness.other(live);
		Map<String, String> settings = Map.of("ROLLOUT_STEPS", "5 25 50", "ROLLOUT_PAUSE", "10", "APP_ARGS", appArgs,
				"VERIFY_PATH", "/api/version", "WARMUP_PATHS", "/api/version");
		LoadGenerator load = new LoadGenerator("127.0.0.1", harness.publicPort(), 16, true, Duration.ofMillis(50),
				LoadGenerator.Mix.PLAIN);
		ScriptProcess.Result deploy;
		LoadGenerator.Result seen;
		try {
			deploy = harness.run(settings, "deploy.sh", TestJars.plain(4).toString());
		}
		finally {
			seen = load.stop();
		}

		assertThat(deploy.exitCode()).as("%s", deploy).isEqualTo(1);
		assertThat(deploy.stderr()).contains("the gate stopped the 5% step");
		// The plain app has no /actuator/sessioncheck: the session check says it is skipped.
		assertThat(deploy.stdout()).containsPattern("session check (skipped: " + next + " has no /actuator/sessioncheck|: no session)");
		assertThat(harness.liveColor()).isEqualTo(live);
		assertThat(status().path("rollout_share").asInt()).as("every slot back").isZero();
		assertThat(DeployHarness.isRunning(harness.pid(next))).as("the new color stopped").isFalse();
		assertThat(harness.answeringColors(20)).containsOnly(live);
		JsonNode history = JSON.readTree(harness.lastHistory());
		assertThat(history.path("outcome").asString()).isEqualTo("rolled-back");
		JsonNode step = history.path("rollout").path(0);
		assertThat(step.path("share").asInt()).isEqualTo(5);
		assertThat(step.path("decision").asString()).isEqualTo("failed");
		JsonNode to = step.path("to");
		System.out.printf("gate, a version that %s: stopped at 5%% (%s); %d of %d requests failed%n", name, step,
				seen.failures().size(), seen.total());
		if (appArgs.contains("error-every")) {
			// The failures are the new color's own 500s, from the step's start until keepalive_time after the
			// switch back retired the connections to it: a third of that window's share of requests at most.
			long from = deploy.timeOf("moving 5% of clients");
			long until = deploy.timeOf("switching back to " + live) + KEEPALIVE_TIME.toNanos() + TimeUnit.SECONDS.toNanos(1);
			long inWindow = seen.count((sent) -> sent >= from && sent <= until);
			double expected = inWindow * 0.05 / 3;
			System.out.printf("  %d requests from the step's start until the drain after the switch back; 5%% of them / 3 = %.0f%n",
					inWindow, expected);
			assertThat(to.path("errors").asInt()).isPositive();
			assertThat(to.path("errors").asInt()).isLessThanOrEqualTo(to.path("answers").asInt() / 3 + 1);
			assertThat(seen.failures()).as("failed:%s", seen.describeFailures(10)).allSatisfy((sample) -> {
				assertThat(sample.status()).isEqualTo(500);
				assertThat(sample.intendedNanos()).isBetween(from, until);
			});
			assertThat((double) seen.failures().size()).isLessThanOrEqualTo(2 * expected + 5);
		}
		else {
			assertThat(to.path("p99_ms").asInt()).isGreaterThan(400);
			assertThat(seen.failures()).as("failed:%s", seen.describeFailures(10)).isEmpty();
		}
	}

	@Test
	void aManualRolloutAbortedWhilePausedPutsEveryClientBack() throws Exception {
		String live = harness.liveColor();
		long livePid = harness.pid(live);
		assertThat(harness.run(MANUAL, "deploy.sh", TestJars.next().toString()).exitCode()).isZero();
		assertThat(status().path("deploy").path("state").asString()).isEqualTo("paused");
		assertThat(status().path("rollout_share").asInt()).isEqualTo(5);
		// Paused, every other command that would move a color is refused.
		ScriptProcess.Result refused = harness.run("switch.sh");
		assertThat(refused.exitCode()).as("%s", refused).isEqualTo(3);
		assertThat(refused.errorLines()).singleElement().asString().contains("is paused at 5%");

		ScriptProcess.Result aborted = harness.run(MANUAL, "deploy.sh", "--abort");

		assertThat(aborted.exitCode()).as("%s", aborted).isZero();
		assertThat(status().path("rollout_share").asInt()).isZero();
		assertThat(harness.pid(live)).isEqualTo(livePid);
		assertThat(DeployHarness.isRunning(harness.pid(DeployHarness.other(live)))).isFalse();
		assertThat(harness.lastHistory()).contains("\"outcome\":\"aborted\"");
	}

	@Test
	void aDeployKilledInTheMiddleOfARolloutIsUndoneByTheNextCommand() throws Exception {
		String live = harness.liveColor();
		ScriptProcess deploy = harness.launch(Map.of("ROLLOUT_STEPS", "5 25 50", "ROLLOUT_PAUSE", "60"), "deploy.sh",
				TestJars.next().toString());
		deploy.awaitLine("moving 5% of clients", Duration.ofMinutes(3));
		await().atMost(Duration.ofSeconds(10)).until(() -> status().path("rollout_share").asInt() == 5);
		new ProcessBuilder("kill", "-KILL", Long.toString(deploy.pid())).start().waitFor(10, TimeUnit.SECONDS);
		deploy.waitFor(Duration.ofSeconds(30));
		assertThat(status().path("rollout_share").asInt()).as("the slots as the killed deploy left them").isEqualTo(5);

		// A child of the killed script (its sleep, its curl) may hold the lock for a moment: exit 3 until then.
		await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1))
			.until(() -> harness.run("status.sh", "--repair").exitCode() == 0);

		assertThat(status().path("rollout_share").asInt()).isZero();
		assertThat(harness.liveColor()).isEqualTo(live);
		assertThat(DeployHarness.isRunning(harness.pid(DeployHarness.other(live)))).isFalse();
		assertThat(harness.lastHistory()).contains("\"outcome\":\"interrupted\"", "phase rollout");
		assertThat(harness.answeringColors(20)).containsOnly(live);
	}

	/**
	 * The session check before any traffic moves: a version that cannot read a session the live color reads
	 * (here: started without java.util. among its session types, so a list in a session is unreadable to
	 * it) is refused with traffic untouched, naming the attribute and its type, never its value; a corrupt
	 * session that no version reads does not block the next deploy.
	 */
	@Test
	void aVersionThatCannotReadTheLiveSessionsIsRefusedAndACorruptSessionDoesNotBlockADeploy() throws Exception {
		String live = harness.liveColor();
		String next = DeployHarness.other(live);
		long livePid = harness.pid(live);
		String cookie;
		try (HttpConnection connection = new HttpConnection("127.0.0.1", harness.publicPort())) {
			cookie = String.join("; ", connection.get("/api/visits", Map.of()).cookies());
			String session = cookie.replaceAll(".*SESSION=([^;]+).*", "$1");
			String id = new String(Base64.getDecoder().decode(session), StandardCharsets.UTF_8);
			redis((commands) -> {
				commands.hset(SESSIONS + id, "sessionAttr:cart", "[\"java.util.ArrayList\",[\"secret-book\"]]");
				String corrupt = SESSIONS + "corrupt-" + UUID.randomUUID();
				commands.hset(corrupt, Map.of("creationTime", "1", "lastAccessedTime", Long.toString(System.currentTimeMillis()),
						"maxInactiveInterval", "1800", "sessionAttr:cart", "{{{"));
				commands.expire(corrupt, 600);
			});
			// The live color still reads the session, list included (else it would start a new one: visits 1).
			assertThat(connection.get("/api/visits", Map.of("Cookie", cookie)).body()).contains("\"visits\":2");
		}

		ScriptProcess.Result refused = harness.run(Map.of("APP_ARGS", "--app.session.types=java.lang.,java.time.,com.example.bluegreen."),
				"deploy.sh", TestJars.next().toString());

		System.out.printf("session check: %s%n", refused.errorLines());
		assertThat(refused.exitCode()).as("%s", refused).isEqualTo(1);
		assertThat(refused.errorLines()).singleElement().asString()
			.contains("session check: " + next + " cannot read 1 of ", "cart (java.util.ArrayList, unreadable)")
			.doesNotContain("secret-book");
		assertThat(harness.liveColor()).isEqualTo(live);
		assertThat(harness.pid(live)).isEqualTo(livePid);
		assertThat(DeployHarness.isRunning(harness.pid(next))).isFalse();
		assertThat(harness.answeringColors(10)).containsOnly(live);
		assertThat(harness.lastHistory()).contains("\"outcome\":\"failed\"", "session check");

		ScriptProcess.Result deployed = harness.run("deploy.sh", TestJars.next().toString());

		assertThat(deployed.exitCode()).as("%s", deployed).isZero();
		assertThat(deployed.stdout()).containsPattern("session check: " + next + " reads all \\d+ sessions");
	}

	private static final String SESSIONS = "bluegreen:session:sessions:";

	private static void redis(Consumer<RedisCommands<String, String>> use) {
		RedisClient client = RedisClient.create(RedisURI.create(System.getProperty("spring.data.redis.host", "localhost"),
				Integer.getInteger("spring.data.redis.port", 6379)));
		try (StatefulRedisConnection<String, String> connection = client.connect()) {
			use.accept(connection.sync());
		}
		finally {
			client.shutdown();
		}
	}

	private static int differences(Map<String, String> before, Map<String, String> after) {
		return (int) before.entrySet().stream().filter((entry) -> !entry.getValue().equals(after.get(entry.getKey()))).count();
	}

	private static JsonNode status() {
		return JSON.readTree(harness.run("status.sh", "--json").stdout());
	}

	/** A failed step must not leave the shared harness in the middle of a deploy for the next test. */
	private static void abortIfHeld() {
		if (!status().path("deploy").isNull()) {
			harness.run("deploy.sh", "--abort");
		}
	}

	/**
	 * Browser-like clients: each got its cookies (the app's session, nginx's bgid) from its first answer and
	 * sends them back; each asks /api/visits, its session's visit counter.
	 */
	private static final class Clients {

		private final int port;

		private final List<String> cookies = new ArrayList<>();

		private static final int CONNECTIONS = 4;

		private final Map<String, Integer> visits = new ConcurrentHashMap<>();

		private volatile boolean visitsKept = true;

		private Clients(int port) {
			this.port = port;
		}

		static Clients open(int port, int count) {
			Clients clients = new Clients(port);
			try (HttpConnection connection = new HttpConnection("127.0.0.1", port)) {
				for (int i = 0; i < count; i++) {
					HttpConnection.Response first = connection.get("/api/visits", Map.of());
					String cookie = String.join("; ", first.cookies());
					assertThat(cookie).contains("SESSION=", "bgid=");
					clients.cookies.add(cookie);
					clients.visits.put(cookie, 1);
				}
			}
			catch (IOException ex) {
				throw new UncheckedIOException(ex);
			}
			return clients;
		}

		int size() {
			return this.cookies.size();
		}

		/**
		 * Each client's color now (one request each, on four connections at once); a visit count that skipped
		 * or restarted is noted.
		 */
		Map<String, String> colors() {
			Map<String, String> colors = new ConcurrentHashMap<>();
			IntStream.range(0, CONNECTIONS).parallel().forEach((part) -> {
				try (HttpConnection connection = new HttpConnection("127.0.0.1", this.port)) {
					for (int i = part; i < this.cookies.size(); i += CONNECTIONS) {
						String cookie = this.cookies.get(i);
						HttpConnection.Response response = connection.get("/api/visits", Map.of("Cookie", cookie));
						int expected = this.visits.merge(cookie, 1, Integer::sum);
						if (!response.body().contains("\"visits\":" + expected + ",")) {
							this.visitsKept = false;
						}
						colors.put(cookie, response.header("X-App-Color"));
					}
				}
				catch (IOException ex) {
					throw new UncheckedIOException(ex);
				}
			});
			return colors;
		}

		boolean visitsKept() {
			return this.visitsKept;
		}

	}

}
