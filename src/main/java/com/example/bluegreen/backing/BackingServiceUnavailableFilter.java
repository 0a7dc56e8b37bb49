package com.example.bluegreen.backing;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * When Redis or RabbitMQ is unreachable, answers 503 problem+json with Retry-After instead of a 500.
 * Sits outside Spring Session's filter, which loads and saves the session around the whole request.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 10)
class BackingServiceUnavailableFilter extends OncePerRequestFilter {

	private static final Log logger = LogFactory.getLog(BackingServiceUnavailableFilter.class);

	private final JsonMapper json;

	BackingServiceUnavailableFilter(JsonMapper json) {
		this.json = json;
	}

	@Override
	protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
			throws ServletException, IOException {
		try {
			chain.doFilter(request, response);
		}
		catch (ServletException | RuntimeException ex) {
			String service = UnavailableService.of(ex);
			if (service == null || response.isCommitted()) {
				throw ex;
			}
			logger.warn(service + " unavailable: " + request.getMethod() + " " + request.getRequestURI()
					+ " answered 503 (" + rootMessage(ex) + ")");
			response.reset();
			response.setStatus(HttpStatus.SERVICE_UNAVAILABLE.value());
			response.setHeader("Retry-After", "5");
			response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
			Map<String, Object> problem = new LinkedHashMap<>();
			problem.put("title", "Service Unavailable");
			problem.put("status", 503);
			problem.put("detail", service + " is unavailable, try again shortly");
			problem.put("instance", request.getRequestURI());
			this.json.writeValue(response.getOutputStream(), problem);
		}
	}

	private static String rootMessage(Throwable ex) {
		Throwable root = ex;
		while (root.getCause() != null) {
			root = root.getCause();
		}
		return root.getClass().getSimpleName() + ": " + root.getMessage();
	}

}
