package com.example.bluegreen.identity;

import java.io.IOException;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/** Adds X-App-Color and X-App-Version to every response, errors included. */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
class AppIdentityHeadersFilter extends OncePerRequestFilter {

	private final AppIdentity identity;

	AppIdentityHeadersFilter(AppIdentity identity) {
		this.identity = identity;
	}

	@Override
	protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
			throws ServletException, IOException {
		response.setHeader("X-App-Color", this.identity.color());
		response.setHeader("X-App-Version", this.identity.version());
		chain.doFilter(request, response);
	}

}
