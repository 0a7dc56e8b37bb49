package com.example.bluegreen.security;

import java.io.IOException;
import java.util.Map;

import com.example.bluegreen.support.HttpConnection;
import com.example.bluegreen.support.RunningApp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bad input sent straight to the app, as a caller that bypasses nginx would (nginx's own limits are in
 * NginxSecurityIntegrationTests; malformed, mistyped and unknown JSON fields in OrderControllerTests):
 * every answer is a 4xx, problem+json when the app answers, Tomcat's bare 400 page for a request line it
 * refuses to parse; never a 500, never a stack trace.
 */
class ApiBadInputIntegrationTests {

	private static final int LIMIT = 16 * 1024;

	private static final String ORDER = "{\"item\":\"book\",\"quantity\":0}";

	private static RunningApp app;

	@BeforeAll
	static void start() {
		app = RunningApp.start("blue");
	}

	@AfterAll
	static void stop() {
		app.close();
	}

	@Test
	void bodyOverTheLimitIs413ProblemAndTheConnectionStaysUsable() throws IOException {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", app.port())) {
			HttpConnection.Response response = connection.post("/api/orders", padded(ORDER, LIMIT + 1));

			assertThat(response.status()).isEqualTo(413);
			assertThat(response.header("Content-Type")).isEqualTo("application/problem+json");
			assertThat(response.body()).contains("\"status\":413", "larger than the limit of 16384 bytes");
			assertThat(connection.get("/api/version", Map.of()).status()).isEqualTo(200);
		}
	}

	@Test
	void chunkedBodyOverTheLimitIs413ProblemAsSoonAsItIsCounted() throws IOException {
		HttpConnection.Response response = postChunked(padded(ORDER, 4 * LIMIT), 1000);

		assertThat(response.status()).isEqualTo(413);
		assertThat(response.header("Content-Type")).isEqualTo("application/problem+json");
		assertThat(response.body()).contains("larger than the limit of 16384 bytes");
	}

	@Test
	void bodyOfExactlyTheLimitIsReadWhole() throws IOException {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", app.port())) {
			HttpConnection.Response response = connection.post("/api/orders", padded(ORDER, LIMIT));

			assertThat(response.status()).as("the order was parsed to its end: quantity 0 is invalid").isEqualTo(400);
			assertThat(response.body()).contains("\"field\":\"quantity\"");
		}
	}

	@Test
	void chunkedBodyWithinTheLimitIsReadWhole() throws IOException {
		HttpConnection.Response response = postChunked(padded(ORDER, LIMIT), 700);

		assertThat(response.status()).as("the order was parsed to its end: quantity 0 is invalid").isEqualTo(400);
		assertThat(response.header("Content-Type")).isEqualTo("application/problem+json");
		assertThat(response.body()).contains("\"field\":\"quantity\"");
	}

	@ParameterizedTest
	@ValueSource(strings = { "/api/slow?ms=99999999999999999999", "/api/slow?ms=9223372036854775807",
			"/api/slow?ms=-1", "/api/slow?ms=1e3", "/api/slow?ms=abc", "/api/slow?ms=", "/api/slow" })
	void slowRefusesAnMsItCannotHonour(String path) throws IOException {
		HttpConnection.Response response = get(path);

		assertThat(response.status()).isEqualTo(400);
		assertThat(response.header("Content-Type")).isEqualTo("application/problem+json");
		Tools.assertRevealsNoInternals(response.body());
	}

	@ParameterizedTest
	@CsvSource(delimiter = '|', value = {
			// Tomcat refuses these before the app: encoded or raw (back)slashes, dot segments above the
			// root, NUL, invalid UTF-8.
			"/hash/..%2F..%2Fetc%2Fpasswd                  | 400 | text/html",
			"/hash/%2e%2e%2f%2e%2e%2fetc%2fpasswd          | 400 | text/html",
			"/hash/..%5C..%5Cetc%5Cpasswd                  | 400 | text/html",
			"/hash/..\\..\\etc\\passwd                     | 400 | text/html",
			"/hash/../../etc/passwd                        | 400 | text/html",
			"/hash/..;/..;/etc/passwd                      | 400 | text/html",
			"/hash/a%00b                                   | 400 | text/html",
			"/hash/%c0%ae%c0%ae%c0%af                      | 400 | text/html",
			// The app: outside /hash/{input}'s alphabet, or over 128 characters.
			"/hash/....//....//etc/passwd                  | 404 | application/problem+json",
			"/hash/%252e%252e%252fetc                      | 404 | application/problem+json",
			"/hash/a%20b                                   | 404 | application/problem+json" })
	void hashRefusesPathTraversal(String path, int status, String contentType) throws IOException {
		HttpConnection.Response response = get(path);

		assertThat(response.status()).isEqualTo(status);
		assertThat(response.header("Content-Type")).startsWith(contentType);
		Tools.assertRevealsNoInternals(response.body());
	}

	@ParameterizedTest
	@CsvSource({ "129, 400, application/problem+json", "5000, 400, application/problem+json",
			"10000, 400, text/html" })
	void hashRefusesOverlongInput(int length, int status, String contentType) throws IOException {
		HttpConnection.Response response = get("/hash/" + "a".repeat(length));

		assertThat(response.status()).isEqualTo(status);
		assertThat(response.header("Content-Type")).startsWith(contentType);
		Tools.assertRevealsNoInternals(response.body());
	}

	@Test
	void dotSegmentsInHashAreHashedAsTextNotResolved() throws IOException {
		HttpConnection.Response response = get("/hash/%2e%2e");

		assertThat(response.status()).isEqualTo(200);
		assertThat(response.body()).contains("\"input\":\"..\"");
	}

	@ParameterizedTest
	@CsvSource(delimiter = '|', value = {
			"application/xml                 | <order/>                                          | 415",
			"text/plain                      | {\"item\":\"book\",\"quantity\":1}                    | 415",
			"application/json; charset=bogus | {\"item\":\"book\",\"quantity\":1}                    | 415",
			"application/json                | {\"item\":\"book\",\"quantity\":99999999999999999999} | 400" })
	void orderBodyThatIsNotAnOrderIs4xxProblem(String contentType, String body, int status) throws IOException {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", app.port())) {
			HttpConnection.Response response = connection.send("POST", "/api/orders",
					Map.of("Content-Type", contentType), body);

			assertThat(response.status()).isEqualTo(status);
			assertThat(response.header("Content-Type")).isEqualTo("application/problem+json");
			Tools.assertRevealsNoInternals(response.body());
		}
	}

	@Test
	void deeplyNestedJsonIs400Problem() throws IOException {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", app.port())) {
			HttpConnection.Response response = connection.post("/api/orders", "[".repeat(LIMIT - 1));

			assertThat(response.status()).isEqualTo(400);
			assertThat(response.header("Content-Type")).isEqualTo("application/problem+json");
			Tools.assertRevealsNoInternals(response.body());
		}
	}

	/** A JSON body in chunks, without Content-Length. */
	private static HttpConnection.Response postChunked(String json, int chunkSize) throws IOException {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", app.port())) {
			return connection.postChunked("/api/orders", "application/json", json, chunkSize);
		}
	}

	private static HttpConnection.Response get(String path) throws IOException {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", app.port())) {
			return connection.get(path, Map.of());
		}
	}

	/** {@code json} followed by spaces up to {@code size} bytes: still one JSON document. */
	static String padded(String json, int size) {
		return json + " ".repeat(size - json.length());
	}

}
