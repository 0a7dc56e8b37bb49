package com.example.bluegreen.messaging;

import java.net.URI;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

import jakarta.validation.Valid;

import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/** Accepts orders (202 once the broker confirmed) and reports whether they were processed. */
@RestController
class OrderController {

	private final OrderPublisher publisher;

	private final ProcessedOrders processed;

	OrderController(OrderPublisher publisher, ProcessedOrders processed) {
		this.publisher = publisher;
		this.processed = processed;
	}

	@PostMapping("/api/orders")
	ResponseEntity<Accepted> create(@Valid @RequestBody OrderRequest request) {
		Order order = new Order(UUID.randomUUID().toString(), request.item(), request.quantity(),
				request.customer(), Instant.now());
		this.publisher.publish(order);
		return ResponseEntity.accepted()
			.location(URI.create("/api/orders/" + order.id()))
			.body(new Accepted(order.id(), "accepted"));
	}

	@GetMapping("/api/orders/{id:[0-9a-f-]{36}}")
	ProcessedOrders.ProcessedOrder find(@PathVariable String id) {
		ProcessedOrders.ProcessedOrder order = this.processed.find(id);
		if (order == null) {
			throw new ResponseStatusException(HttpStatus.NOT_FOUND, "Order " + id + " has not been processed");
		}
		return order;
	}

	@GetMapping("/api/orders/stats")
	Map<String, Long> stats() {
		return this.processed.stats();
	}

	record Accepted(String id, String status) {
	}

}
