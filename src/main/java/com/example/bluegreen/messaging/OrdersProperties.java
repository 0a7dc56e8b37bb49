package com.example.bluegreen.messaging;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Order publishing and processing ({@code app.orders.*}).
 *
 * @param processedTtl how long a processed order id is remembered (redeliveries within it have no effect)
 * @param confirmTimeout how long POST /api/orders waits for the broker's confirm before answering 503
 * @param listenerShutdownTimeout how long the listener finishes the message in hand on shutdown (see
 * "Shutdown timing" in application.yml)
 */
@ConfigurationProperties("app.orders")
record OrdersProperties(Duration processedTtl, Duration confirmTimeout, Duration listenerShutdownTimeout) {
}
