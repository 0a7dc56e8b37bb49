package com.example.bluegreen.messaging;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;

/** The broker did not confirm an order: the caller gets 503 and knows to retry; nothing was accepted. */
class OrderNotAcceptedException extends ErrorResponseException {

	OrderNotAcceptedException(String reason, Throwable cause) {
		super(HttpStatus.SERVICE_UNAVAILABLE, problem(reason), cause);
	}

	private static ProblemDetail problem(String reason) {
		ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.SERVICE_UNAVAILABLE,
				"The order was not accepted: " + reason + ". Try again shortly.");
		problem.setTitle("Order not accepted");
		return problem;
	}

}
