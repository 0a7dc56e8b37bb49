package com.example.bluegreen.web;

import jakarta.servlet.http.HttpSession;

import com.example.bluegreen.session.VisitCounter;
import com.example.bluegreen.identity.AppIdentity;

import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.util.HtmlUtils;

/** The page a person sees: which color answered, which version, and this session's visit count. */
@RestController
class HomeController {

	private static final String PAGE = """
			<!doctype html>
			<html lang="en">
			<head><meta charset="utf-8"><title>bluegreen</title>
			<style>body{font-family:sans-serif;margin:3rem;border-top:1rem solid %1$s}</style></head>
			<body>
			<h1>Served by <span id="color">%1$s</span></h1>
			<p>Version <span id="version">%2$s</span>, deploy <span id="deploy">%3$s</span></p>
			<p>Visits in this session: <span id="visits">%4$d</span></p>
			</body>
			</html>
			""";

	private final AppIdentity identity;

	private final VisitCounter visits;

	HomeController(AppIdentity identity, VisitCounter visits) {
		this.identity = identity;
		this.visits = visits;
	}

	@GetMapping(path = "/", produces = MediaType.TEXT_HTML_VALUE)
	String home(HttpSession session) {
		return PAGE.formatted(HtmlUtils.htmlEscape(this.identity.color()),
				HtmlUtils.htmlEscape(this.identity.version()), HtmlUtils.htmlEscape(this.identity.deployId()),
				this.visits.increment(session));
	}

}
