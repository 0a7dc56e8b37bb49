package org.acme.plain;

import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootVersion;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * A Boot app that knows nothing of the blue/green template: web MVC, actuator, one GET and one POST, TCP
 * only, default settings. The deploy tests deploy it as users deploy their own jars.
 */
@SpringBootApplication
@RestController
public class PlainApplication {

	private final AtomicLong orders = new AtomicLong();

	public static void main(String[] args) {
		SpringApplication.run(PlainApplication.class, args);
	}

	@GetMapping("/api/version")
	public Map<String, Object> version() {
		return Map.of("app", "plain", "boot", SpringBootVersion.getVersion(), "orders", this.orders.get());
	}

	@PostMapping("/api/orders")
	@ResponseStatus(HttpStatus.ACCEPTED)
	public Map<String, Object> order(@RequestBody Map<String, Object> order) {
		this.orders.incrementAndGet();
		return Map.of("id", UUID.randomUUID().toString(), "item", String.valueOf(order.get("item")));
	}

}
