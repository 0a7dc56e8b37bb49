package com.example.bluegreen.security;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import com.example.bluegreen.support.DeployHarness;
import com.example.bluegreen.support.HttpConnection;
import com.example.bluegreen.support.ScriptProcess;
import com.example.bluegreen.support.TestJars;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * The public side, through the real private nginx with TLS (a throwaway self-signed certificate made for
 * this test, outside the repository) in front of one deployed color: the actuator is never served, nginx
 * names no version, the security headers are on every proxied answer, the session cookie is Secure only
 * over HTTPS, only TLS 1.2+ is spoken, body limits hold, and the scripts left tight permissions.
 */
class NginxSecurityIntegrationTests {

	private static final Path PROJECT = Path.of("").toAbsolutePath();

	private static Path certificateDirectory;

	private static Path certificate;

	private static int tlsPort;

	private static DeployHarness harness;

	private static HttpConnection.Response beforeFirstDeploy;

	private static String live;

	@BeforeAll
	static void deployBehindNginxWithTls() throws IOException {
		Path openssl = Tools.require("openssl", "openssl");
		certificateDirectory = Files.createTempDirectory("bluegreen-tls-");
		assertThat(certificateDirectory.startsWith(PROJECT)).as("the test certificate is written outside the repository")
			.isFalse();
		certificate = certificateDirectory.resolve("cert.pem");
		Path key = certificateDirectory.resolve("key.pem");
		ScriptProcess.Result generated = ScriptProcess
			.start(openssl, Map.of(), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
					"-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "1", "-keyout", key.toString(),
					"-out", certificate.toString())
			.waitFor(Duration.ofMinutes(1));
		assertThat(generated.exitCode()).as("%s", generated).isZero();

		tlsPort = freePort();
		harness = DeployHarness.start("socket", Map.of("TLS_CERT", certificate.toString(), "TLS_KEY", key.toString(),
				"TLS_PORT", Integer.toString(tlsPort)));
		beforeFirstDeploy = get("/api/version");
		ScriptProcess.Result deploy = harness.run("deploy.sh", TestJars.current().toString());
		assertThat(deploy.exitCode()).as("%s", deploy).isZero();
		live = harness.liveColor();
	}

	@AfterAll
	static void stop() throws IOException {
		try {
			if (harness != null) {
				harness.close();
			}
		}
		finally {
			if (certificateDirectory != null) {
				try (Stream<Path> files = Files.walk(certificateDirectory)) {
					files.sorted(Comparator.reverseOrder()).forEach((file) -> file.toFile().delete());
				}
			}
		}
	}

	/** Paths that name the actuator, written the ways a proxy and a servlet container may read differently. */
	static Stream<String> actuatorPaths() {
		return Stream.of("/actuator", "/actuator/", "/actuator/health", "/actuator/health/readiness", "/actuator/info",
				"/actuator/prometheus", "/actuator/sessioncheck", "//actuator/env", "/actuator;x/health", "/actuator%3Bx/health",
				"/%61ctuator/health", "/%2561ctuator/health", "/ACTUATOR/health", "/Actuator/info",
				"/%2Factuator/health", "/actuator%2Fhealth", "/api/../actuator/health", "/./actuator/health",
				"/%2e/actuator/health", "/api/%2e%2e/actuator/health", "/api/..;/actuator/health",
				"/api/..%3B/actuator/health", "/;x/actuator/health", "/..;/actuator/health", "/\\actuator/health",
				"/actuator%00/health", "http://localhost/actuator/health");
	}

	@ParameterizedTest
	@MethodSource("actuatorPaths")
	void actuatorIsNeverServedThroughNginx(String path) throws IOException {
		assertNotServed(path, get(path));
	}

	@Test
	void actuatorIsNeverServedThroughNginxInReloadModeEither() throws IOException {
		ScriptProcess.Result toReload = harness.run(Map.of("SWITCH_MODE", "reload"), "switch.sh", live);
		assertThat(toReload.exitCode()).as("%s", toReload).isZero();
		try {
			String tcpUpstream = "127.0.0.1:" + harness.port(live);
			await().atMost(Duration.ofSeconds(15))
				.untilAsserted(() -> assertThat(get("/api/version").header("X-Upstream-Addr")).isEqualTo(tcpUpstream));
			for (String path : actuatorPaths().toList()) {
				assertNotServed(path, get(path));
			}
		}
		finally {
			ScriptProcess.Result back = harness.run(Map.of("SWITCH_MODE", "socket"), "switch.sh", live);
			assertThat(back.exitCode()).as("%s", back).isZero();
		}
	}

	@ParameterizedTest
	@MethodSource("actuatorPaths")
	void actuatorIsNotServedOnTheUnixSocket(String path) throws IOException {
		Path socket = harness.appHome().resolve("run/" + live + ".sock");
		try (HttpConnection connection = HttpConnection.unix(socket)) {
			HttpConnection.Response response = connection.get(path, Map.of());

			assertThat(response.status()).as("GET %s over %s:%n%s", path, socket, response).isIn(400, 404);
			assertThat(response.body()).doesNotContain("\"status\":\"UP\"", "\"components\"", "# HELP", "\"build\"");
		}
	}

	@Test
	void actuatorAnswersOnTheLoopbackPortOnly() throws IOException {
		int port = harness.port(live);
		try (HttpConnection loopback = new HttpConnection("127.0.0.1", port)) {
			assertThat(loopback.get("/actuator/health/readiness", Map.of()).status()).isEqualTo(200);
		}
		Path ss = Tools.require("ss", "iproute2");
		ScriptProcess.Result listening = ScriptProcess.start(ss, Map.of(), "-Hltn", "sport = :" + port)
			.waitFor(Duration.ofSeconds(30));
		List<String> localAddresses = listening.stdout()
			.lines()
			.map((line) -> line.trim().split("\\s+")[3])
			.toList();
		assertThat(localAddresses).as("listening sockets on %d", port)
			.isNotEmpty()
			.allSatisfy((address) -> assertThat(address).matches("(127\\.0\\.0\\.1|\\[::ffff:127\\.0\\.0\\.1\\]):\\d+"));
		for (InetAddress address : nonLoopbackAddresses()) {
			assertThatExceptionOfType(IOException.class).as("connecting to %s:%d", address, port)
				.isThrownBy(() -> {
					try (Socket socket = new Socket()) {
						socket.connect(new InetSocketAddress(address, port), 2000);
					}
				});
		}
	}

	@Test
	void serverHeaderNamesNoVersionOnAnyAnswer() throws IOException {
		Map<String, HttpConnection.Response> answers = new LinkedHashMap<>();
		answers.put("502 before the first deploy", beforeFirstDeploy);
		answers.put("200 from the app", get("/api/version"));
		answers.put("404 from the app", get("/no-such-page"));
		answers.put("404 from nginx", get("/actuator"));
		answers.put("400 from nginx", get("/actuator%00"));
		answers.put("414 from nginx", get("/hash/" + "a".repeat(10_000)));
		answers.put("413 from nginx", post("/api/orders", ApiBadInputIntegrationTests.padded("{}", 70 * 1024)));

		assertThat(answers).allSatisfy((answer, response) -> {
			assertThat(response.status()).as(answer).isEqualTo(Integer.parseInt(answer.substring(0, 3)));
			assertThat(response.header("Server")).as(answer).isEqualTo("nginx");
			Tools.assertRevealsNoInternals(response.body());
		});
	}

	@ParameterizedTest
	@ValueSource(strings = { "/", "/api/version", "/hash/abc", "/no-such-page", "/api/slow?ms=abc" })
	void proxiedAnswersCarryTheSecurityHeaders(String path) throws IOException {
		HttpConnection.Response response = get(path);

		assertThat(response.header("X-App-Color")).as("answered by the app").isNotNull();
		securityHeaders().forEach((name, value) -> assertThat(response.header(name)).as(name).isEqualTo(value));
	}

	@Test
	void sessionCookieOverHttpsIsSecureHttpOnlyAndSameSiteLax() throws Exception {
		HttpResponse<String> response = httpsClient().send(
				HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + tlsPort + "/")).build(),
				HttpResponse.BodyHandlers.ofString());

		assertThat(response.statusCode()).isEqualTo(200);
		assertThat(response.sslSession()).hasValueSatisfying(
				(session) -> assertThat(session.getProtocol()).isIn("TLSv1.2", "TLSv1.3"));
		assertThat(cookieAttributes(response.headers().firstValue("Set-Cookie").orElseThrow()))
			.contains("Secure", "HttpOnly", "SameSite=Lax");
		assertThat(response.headers().firstValue("Strict-Transport-Security")).hasValue("max-age=63072000");
		securityHeaders().forEach((name, value) -> assertThat(response.headers().firstValue(name)).as(name).hasValue(value));
	}

	@Test
	void sessionCookieOverHttpIsNotSecureEvenWhenTheClientClaimsHttps() throws IOException {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", harness.publicPort())) {
			HttpConnection.Response response = connection.get("/", Map.of("X-Forwarded-Proto", "https",
					"X-Forwarded-Port", "443", "X-Forwarded-For", "203.0.113.7", "X-Forwarded-Host", "example.org"));

			assertThat(response.status()).isEqualTo(200);
			// The app's session cookie first, then nginx's bgid (the rollout's client key): neither Secure.
			List<String> cookies = response.header("Set-Cookie").lines().toList();
			assertThat(cookies).hasSize(2);
			assertThat(cookies.get(1)).startsWith("bgid=").containsIgnoringCase("httponly").doesNotContainIgnoringCase("secure");
			assertThat(cookieAttributes(cookies.get(0))).contains("HttpOnly", "SameSite=Lax")
				.doesNotContain("Secure");
			assertThat(response.header("Strict-Transport-Security")).as("HSTS only over TLS").isNull();
		}
	}

	@ParameterizedTest
	@CsvSource({ "tls1_2, TLSv1.2", "tls1_3, TLSv1.3" })
	void tls12AndTls13AreAccepted(String option, String protocol) {
		ScriptProcess.Result handshake = handshake(option);

		assertThat(handshake.exitCode()).as("%s", handshake).isZero();
		assertThat(handshake.output()).contains("Protocol version: " + protocol);
	}

	@ParameterizedTest
	@ValueSource(strings = { "tls1", "tls1_1" })
	void tls10AndTls11AreRefused(String option) {
		ScriptProcess.Result handshake = handshake(option);

		assertThat(handshake.exitCode()).as("%s", handshake).isNotZero();
		assertThat(handshake.output()).as("nginx refused the protocol the client offered").contains("alert protocol version");
	}

	@Test
	void bodyOverNginxLimitIs413FromNginx() throws IOException {
		HttpConnection.Response response = post("/api/orders", ApiBadInputIntegrationTests.padded("{}", 64 * 1024 + 1));

		assertThat(response.status()).isEqualTo(413);
		assertThat(response.header("X-App-Color")).as("never reached the app").isNull();
		assertThat(response.header("Server")).isEqualTo("nginx");
	}

	@Test
	void bodyOverTheAppLimitIs413ProblemFromTheAppThroughNginx() throws IOException {
		String body = ApiBadInputIntegrationTests.padded("{\"item\":\"book\",\"quantity\":1}", 20 * 1024);
		HttpConnection.Response declared = post("/api/orders", body);
		HttpConnection.Response chunked;
		try (HttpConnection connection = new HttpConnection("127.0.0.1", harness.publicPort())) {
			chunked = connection.postChunked("/api/orders", "application/json", body, 1000);
		}

		assertThat(declared.status()).isEqualTo(413);
		assertThat(declared.header("Content-Type")).isEqualTo("application/problem+json");
		assertThat(declared.header("X-App-Color")).as("answered by the app").isNotNull();
		assertThat(chunked.status()).isEqualTo(413);
		assertThat(chunked.header("Content-Type")).isEqualTo("application/problem+json");
	}

	@ParameterizedTest
	@CsvSource(delimiter = '|', value = { "/hash/..%2F..%2Fetc%2Fpasswd | 400", "/hash/../../etc/passwd | 400",
			"/hash/..%5C..%5Cetc%5Cpasswd | 400", "/hash/a%00b | 400", "/hash/%zz | 400",
			"/api/slow?ms=99999999999999999999 | 400", "/api/slow?ms=abc | 400" })
	void badInputThroughNginxIs4xxWithoutInternals(String path, int status) throws IOException {
		HttpConnection.Response response = get(path);

		assertThat(response.status()).isEqualTo(status);
		Tools.assertRevealsNoInternals(response.body());
	}

	@ParameterizedTest
	@ValueSource(strings = { "{\"item\":", "{\"item\":\"book\",\"quantity\":\"two\"}",
			"{\"item\":\"book\",\"quantity\":1,\"price\":1}" })
	void orderBodyThatIsNotAnOrderIs400ProblemThroughNginx(String body) throws IOException {
		HttpConnection.Response response = post("/api/orders", body);

		assertThat(response.status()).isEqualTo(400);
		assertThat(response.header("Content-Type")).isEqualTo("application/problem+json");
		Tools.assertRevealsNoInternals(response.body());
	}

	@Test
	void filesCreatedByTheScriptsAreNotWorldWritable() {
		AppHomePermissions.assertTight(harness.appHome());
	}

	private static void assertNotServed(String path, HttpConnection.Response response) {
		assertThat(response.status()).as("GET %s: %s", path, response).isIn(400, 403, 404);
		assertThat(response.body()).as("GET %s", path)
			.doesNotContain("\"status\":\"UP\"", "\"components\"", "# HELP", "\"build\"");
	}

	private static HttpConnection.Response get(String path) throws IOException {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", harness.publicPort())) {
			return connection.get(path, Map.of());
		}
	}

	private static HttpConnection.Response post(String path, String json) throws IOException {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", harness.publicPort())) {
			return connection.post(path, json);
		}
	}

	private static ScriptProcess.Result handshake(String option) {
		// SECLEVEL=0 lets this client offer TLS 1.0/1.1 (OpenSSL 3 refuses them by default), so a refusal
		// comes from nginx.
		return ScriptProcess
			.start(Tools.require("openssl", "openssl"), Map.of(), "s_client", "-brief", "-connect",
					"127.0.0.1:" + tlsPort, "-" + option, "-cipher", "DEFAULT:@SECLEVEL=0")
			.waitFor(Duration.ofSeconds(30));
	}

	/** The add_header lines of nginx/snippets/security-headers.conf. */
	private static Map<String, String> securityHeaders() throws IOException {
		Map<String, String> headers = new LinkedHashMap<>();
		Matcher matcher = Pattern.compile("(?m)^add_header (\\S+) \"([^\"]*)\" always;")
			.matcher(Files.readString(PROJECT.resolve("nginx/snippets/security-headers.conf")));
		while (matcher.find()) {
			headers.put(matcher.group(1), matcher.group(2));
		}
		assertThat(headers).as("headers in security-headers.conf").isNotEmpty();
		return headers;
	}

	private static List<String> cookieAttributes(String setCookie) {
		assertThat(setCookie).as("Set-Cookie").startsWith("SESSION=");
		return Arrays.stream(setCookie.split(";")).map(String::trim).toList();
	}

	private static HttpClient httpsClient() throws IOException, GeneralSecurityException {
		KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
		trusted.load(null, null);
		try (InputStream in = Files.newInputStream(certificate)) {
			trusted.setCertificateEntry("bluegreen-test", CertificateFactory.getInstance("X.509").generateCertificate(in));
		}
		TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
		trust.init(trusted);
		SSLContext context = SSLContext.getInstance("TLS");
		context.init(null, trust.getTrustManagers(), null);
		return HttpClient.newBuilder().sslContext(context).connectTimeout(Duration.ofSeconds(5)).build();
	}

	/** False for an interface gone since it was listed (a booted test host's, taken down meanwhile). */
	private static boolean isUp(NetworkInterface network) {
		try {
			return network.isUp();
		}
		catch (SocketException ex) {
			return false;
		}
	}

	private static List<InetAddress> nonLoopbackAddresses() throws IOException {
		List<InetAddress> addresses = new ArrayList<>();
		for (NetworkInterface network : NetworkInterface.networkInterfaces().toList()) {
			if (isUp(network)) {
				network.inetAddresses()
					.filter((address) -> !address.isLoopbackAddress() && !address.isLinkLocalAddress())
					.forEach(addresses::add);
			}
		}
		return addresses;
	}

	private static int freePort() {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

}
