package com.example.bluegreen.messaging;

import java.time.Instant;

/** The message published for an accepted order; its id is also the AMQP message id. */
record Order(String id, String item, int quantity, String customer, Instant acceptedAt) {
}
