package com.example.bluegreen.session;

import jakarta.servlet.http.HttpSession;

import org.springframework.stereotype.Component;

/** Counts a visitor's requests in their session: the thing a deploy must not reset. */
@Component
public class VisitCounter {

	static final String ATTRIBUTE = "visits";

	public int increment(HttpSession session) {
		Object current = session.getAttribute(ATTRIBUTE);
		int visits = (current instanceof Number number) ? number.intValue() + 1 : 1;
		session.setAttribute(ATTRIBUTE, visits);
		return visits;
	}

}
