package com.example.bluegreen.web;

import java.util.Map;

import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * The public health path for a load balancer: 200 while this color accepts traffic, 503 once it refuses
 * it (graceful shutdown). It says only that, so the actuator stays on loopback.
 */
@RestController
class HealthzController {

	private final ApplicationAvailability availability;

	HealthzController(ApplicationAvailability availability) {
		this.availability = availability;
	}

	@GetMapping("/healthz")
	ResponseEntity<Map<String, String>> healthz() {
		boolean ready = this.availability.getReadinessState() == ReadinessState.ACCEPTING_TRAFFIC;
		return ResponseEntity.status(ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE)
			.body(Map.of("status", ready ? "UP" : "OUT_OF_SERVICE"));
	}

}
