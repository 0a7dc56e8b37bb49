package com.example.bluegreen.web;

import org.junit.jupiter.api.Test;

import org.springframework.boot.availability.ApplicationAvailabilityBean;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;

import static org.assertj.core.api.Assertions.assertThat;

/** /healthz follows the readiness state: a color in graceful shutdown answers 503, so a balancer leaves it. */
class HealthzControllerTests {

	@Test
	void answers503OnceTheColorRefusesTraffic() {
		ApplicationAvailabilityBean availability = new ApplicationAvailabilityBean();
		HealthzController controller = new HealthzController(availability);
		availability.onApplicationEvent(new AvailabilityChangeEvent<>(this, ReadinessState.ACCEPTING_TRAFFIC));
		assertThat(controller.healthz().getStatusCode().value()).isEqualTo(200);

		availability.onApplicationEvent(new AvailabilityChangeEvent<>(this, ReadinessState.REFUSING_TRAFFIC));

		assertThat(controller.healthz().getStatusCode().value()).isEqualTo(503);
		assertThat(controller.healthz().getBody()).containsEntry("status", "OUT_OF_SERVICE");
	}

}
