package com.example.bluegreen.socket;

import java.io.IOException;
import java.util.Locale;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * The unix socket is nginx's way in, so the actuator is not served there (nginx blocks /actuator too;
 * this holds even if a path trick gets past it). Scripts reach the actuator on the loopback TCP port.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 1)
class ActuatorOnTcpOnlyFilter extends OncePerRequestFilter {

	@Override
	protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
			throws ServletException, IOException {
		if (isUnixSocket(request) && isActuator(request)) {
			response.sendError(HttpServletResponse.SC_NOT_FOUND);
			return;
		}
		chain.doFilter(request, response);
	}

	/**
	 * The raw URI, and the decoded, normalized path that Spring MVC matches: /%61ctuator/health reaches
	 * the actuator although its raw URI does not contain "/actuator".
	 */
	private static boolean isActuator(HttpServletRequest request) {
		return mentionsActuator(request.getRequestURI()) || mentionsActuator(request.getServletPath())
				|| mentionsActuator(request.getPathInfo());
	}

	private static boolean mentionsActuator(String path) {
		return path != null && path.toLowerCase(Locale.ROOT).contains("/actuator");
	}

	/** A unix domain socket connection has no local TCP port. */
	private static boolean isUnixSocket(HttpServletRequest request) {
		return request.getLocalPort() <= 0;
	}

}
