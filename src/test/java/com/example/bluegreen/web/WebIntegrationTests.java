package com.example.bluegreen.web;

import java.net.http.HttpResponse;

import com.example.bluegreen.support.Browser;
import com.example.bluegreen.support.RunningApp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/** What every caller sees: identity headers, the public endpoints, and only three actuator endpoints. */
class WebIntegrationTests {

	private static RunningApp green;

	private final Browser browser = new Browser();

	@BeforeAll
	static void start() {
		green = RunningApp.start("green", "app.deploy-id=deploy-42");
	}

	@AfterAll
	static void stop() {
		green.close();
	}

	@ParameterizedTest
	@ValueSource(strings = { "/", "/api/version", "/hash/abc", "/api/slow?ms=1", "/no-such-page",
			"/api/slow?ms=-1" })
	void everyResponseCarriesColorAndVersion(String path) {
		HttpResponse<String> response = this.browser.get(green.uri(path));

		assertThat(response.headers().firstValue("X-App-Color")).hasValue("green");
		assertThat(response.headers().firstValue("X-App-Version")).hasValueSatisfying(
				(version) -> assertThat(version).matches("\\d+\\.\\d+\\.\\d+.*"));
	}

	@Test
	void versionEchoesTheDeployId() {
		HttpResponse<String> response = this.browser.get(green.uri("/api/version"));

		assertThat(response.body()).contains("\"color\":\"green\"", "\"deployId\":\"deploy-42\"");
		assertThat(this.browser.get(green.uri("/actuator/info")).body()).contains("\"deployId\":\"deploy-42\"",
				"\"color\":\"green\"", "\"build\"");
	}

	@Test
	void healthzSaysOnlyWhetherTheColorTakesTraffic() {
		HttpResponse<String> response = this.browser.get(green.uri("/healthz"));

		assertThat(response.statusCode()).isEqualTo(200);
		assertThat(response.body()).isEqualTo("{\"status\":\"UP\"}");
	}

	@Test
	void hashIsDeterministicCpuWork() {
		String first = this.browser.get(green.uri("/hash/load-test")).body();

		assertThat(first).contains("\"input\":\"load-test\"").containsPattern("\"sha256\":\"[0-9a-f]{64}\"");
		assertThat(this.browser.get(green.uri("/hash/load-test")).body()).isEqualTo(first);
	}

	@ParameterizedTest
	@ValueSource(strings = { "/hash/..%2F..%2Fetc%2Fpasswd", "/hash/a%20b", "/hash/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" })
	void hashRefusesInputOutsideItsAlphabetOrOver128Characters(String path) {
		assertThat(this.browser.get(green.uri(path)).statusCode()).isIn(400, 404);
	}

	@Test
	void slowRequestOverTheBoundIs400Problem() {
		HttpResponse<String> response = this.browser.get(green.uri("/api/slow?ms=25001"));

		assertThat(response.statusCode()).isEqualTo(400);
		assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
		assertThat(response.body()).contains("ms must be between 0 and 25000");
	}

	@ParameterizedTest
	@ValueSource(strings = { "/actuator/health", "/actuator/health/liveness", "/actuator/health/readiness",
			"/actuator/info", "/actuator/prometheus", "/actuator/sessioncheck?limit=1" })
	void healthInfoPrometheusAndTheSessionCheckAreExposed(String path) {
		assertThat(this.browser.get(green.uri(path)).statusCode()).isEqualTo(200);
	}

	@ParameterizedTest
	@ValueSource(strings = { "/actuator/env", "/actuator/beans", "/actuator/configprops", "/actuator/heapdump",
			"/actuator/threaddump", "/actuator/loggers", "/actuator/mappings", "/actuator/shutdown" })
	void otherActuatorEndpointsAreNotExposed(String path) {
		assertThat(this.browser.get(green.uri(path)).statusCode()).isEqualTo(404);
	}

	@Test
	void readinessIncludesRedisAndRabbit() {
		String readiness = this.browser.get(green.uri("/actuator/health/readiness")).body();

		assertThat(readiness).contains("\"redis\"", "\"rabbit\"", "\"readinessState\"");
	}

}
