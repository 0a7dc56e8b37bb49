package com.example.bluegreen.backing;

import java.net.ServerSocket;
import java.net.http.HttpResponse;

import com.example.bluegreen.support.Browser;
import com.example.bluegreen.support.RunningApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import static org.assertj.core.api.Assertions.assertThat;

/** A color started without its Redis says so, stays unready, and answers 503 where it needs Redis. */
@ExtendWith(OutputCaptureExtension.class)
class BackingServicesReportIntegrationTests {

	@Test
	void unreachableRedisIsReportedAndKeepsReadinessDown(CapturedOutput output) throws Exception {
		int closedPort;
		try (ServerSocket socket = new ServerSocket(0)) {
			closedPort = socket.getLocalPort();
		}
		try (RunningApp app = RunningApp.start("blue", "spring.data.redis.port=" + closedPort,
				"spring.data.redis.connect-timeout=300ms")) {
			Browser browser = new Browser();

			assertThat(output).contains("Redis is not reachable at localhost:" + closedPort, "docker compose up -d redis");
			assertThat(browser.get(app.uri("/actuator/health/readiness")).statusCode()).isEqualTo(503);
			assertThat(browser.get(app.uri("/actuator/health/liveness")).statusCode()).isEqualTo(200);
			HttpResponse<String> page = browser.get(app.uri("/api/visits"));
			assertThat(page.statusCode()).isEqualTo(503);
			assertThat(page.headers().firstValue("Content-Type")).hasValue("application/problem+json");
			assertThat(page.body()).contains("Redis is unavailable").doesNotContain("Exception");
			assertThat(browser.get(app.uri("/hash/abc")).statusCode()).as("no Redis needed").isEqualTo(200);
		}
	}

}
