package org.acme.plain;

import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootVersion;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * A Boot app that knows nothing of the blue/green template: web MVC, actuator, one GET and one POST, TCP
 * only, default settings. The deploy tests deploy it as users deploy their own jars; two arguments make it a
 * bad version for the rollout gate: {@code --plain.error-every=N} (every Nth GET /api/version answers 500)
 * and {@code --plain.delay-ms=MS} (each GET /api/version takes MS longer).
 */
@SpringBootApplication
@RestController
public class PlainApplication {

	private final AtomicLong orders = new AtomicLong();

	private final AtomicLong versions = new AtomicLong();

	private final long errorEvery;

	private final long delayMs;

	public PlainApplication(@Value("${plain.error-every:0}") long errorEvery, @Value("${plain.delay-ms:0}") long delayMs) {
		this.errorEvery = errorEvery;
		this.delayMs = delayMs;
	}

	public static void main(String[] args) {
		SpringApplication.run(PlainApplication.class, args);
	}

	@GetMapping("/api/version")
	public ResponseEntity<Map<String, Object>> version() throws InterruptedException {
		if (this.delayMs > 0) {
			// The slow version's behaviour, not a wait of a test: its answers take this much longer, which is
			// what the rollout gate's p99 must catch (nothing to poll for; the tests wait on the deploy's exit).
			Thread.sleep(this.delayMs);
		}
		long n = this.versions.incrementAndGet();
		HttpStatus status = (this.errorEvery > 0 && n % this.errorEvery == 0) ? HttpStatus.INTERNAL_SERVER_ERROR : HttpStatus.OK;
		return ResponseEntity.status(status)
			.body(Map.of("app", "plain", "boot", SpringBootVersion.getVersion(), "orders", this.orders.get()));
	}

	@PostMapping("/api/orders")
	@ResponseStatus(HttpStatus.ACCEPTED)
	public Map<String, Object> order(@RequestBody Map<String, Object> order) {
		this.orders.incrementAndGet();
		return Map.of("id", UUID.randomUUID().toString(), "item", String.valueOf(order.get("item")));
	}

}
