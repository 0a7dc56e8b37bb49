package com.example.bluegreen;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.example.bluegreen.support.Browser;
import com.example.bluegreen.support.HttpConnection;
import com.example.bluegreen.support.RunningApp;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Stopping a color (what the deploy does with SIGTERM) lets the requests in flight finish. */
class GracefulShutdownIntegrationTests {

	@Test
	void closingTheContextDuringSlowRequestStillReturns200() throws Exception {
		RunningApp app = RunningApp.start("blue");
		CompletableFuture<HttpResponse<String>> slow = CompletableFuture
			.supplyAsync(() -> new Browser().get(app.uri("/api/slow?ms=3000")));
		awaitRequestInFlight(app);

		long started = System.nanoTime();
		app.close();

		HttpResponse<String> response = slow.get(20, TimeUnit.SECONDS);
		assertThat(response.statusCode()).isEqualTo(200);
		assertThat(response.body()).contains("\"ms\":3000");
		assertThat(Duration.ofNanos(System.nanoTime() - started)).as("close waited for the request")
			.isGreaterThan(Duration.ofMillis(1500));
	}

	@Test
	void requestInFlightOnUnixSocketFinishesAndSocketIsRemoved(@TempDir Path dir) throws Exception {
		Path socket = dir.resolve("run/green.sock");
		RunningApp app = RunningApp.start("green", "app.socket.path=" + socket);
		CompletableFuture<HttpConnection.Response> slow = CompletableFuture.supplyAsync(() -> {
			try (HttpConnection connection = HttpConnection.unix(socket)) {
				return connection.get("/api/slow?ms=3000", Map.of());
			}
			catch (IOException ex) {
				throw new UncheckedIOException("GET /api/slow over " + socket + " failed", ex);
			}
		});
		awaitRequestInFlight(app);

		app.close();

		HttpConnection.Response response = slow.get(20, TimeUnit.SECONDS);
		assertThat(response.status()).isEqualTo(200);
		assertThat(response.header("X-App-Color")).isEqualTo("green");
		assertThat(response.body()).contains("\"ms\":3000");
		assertThat(Files.exists(socket)).as("socket file removed on shutdown").isFalse();
	}

	private static void awaitRequestInFlight(RunningApp app) {
		MeterRegistry registry = app.bean(MeterRegistry.class);
		await().atMost(Duration.ofSeconds(10))
			.until(() -> Search.in(registry).name("http.server.requests.active").longTaskTimers()
				.stream()
				.mapToInt((timer) -> timer.activeTasks())
				.sum() >= 1);
	}

}
