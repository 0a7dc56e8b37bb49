package com.example.bluegreen.messaging;

import com.example.bluegreen.identity.AppIdentity;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.context.annotation.ComponentScan;
import org.springframework.context.annotation.Import;
import org.springframework.http.MediaType;
import org.springframework.test.context.bean.override.mockito.MockitoBean;
import org.springframework.test.web.servlet.MockMvc;

import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.matchesPattern;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.BDDMockito.willThrow;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * The controller behind the app's filters and error handling. A slice leaves @ConfigurationProperties types
 * out; the filters need theirs (the app.* settings), hence the include filter.
 */
@WebMvcTest(controllers = OrderController.class, includeFilters = @ComponentScan.Filter(ConfigurationProperties.class))
@Import(AppIdentity.class)
class OrderControllerTests {

	@Autowired
	private MockMvc mvc;

	@MockitoBean
	private OrderPublisher publisher;

	@MockitoBean
	private ProcessedOrders processed;

	@Test
	void validOrderIsPublishedAndAccepted() throws Exception {
		this.mvc.perform(post("/api/orders").contentType(MediaType.APPLICATION_JSON)
			.content("{\"item\":\"book\",\"quantity\":2,\"customer\":\"ada\"}"))
			.andExpect(status().isAccepted())
			.andExpect(jsonPath("$.id").value(matchesPattern("[0-9a-f-]{36}")))
			.andExpect(header().string("Location", matchesPattern("/api/orders/[0-9a-f-]{36}")));
		verify(this.publisher).publish(any(Order.class));
	}

	@ParameterizedTest
	@ValueSource(strings = { "{\"item\":\"book\",", "not json", "{\"item\":\"book\",\"quantity\":\"two\"}",
			"{\"item\":\"book\",\"quantity\":2,\"price\":1}", "[]", "" })
	void malformedBodyIs400ProblemAndPublishesNothing(String body) throws Exception {
		this.mvc.perform(post("/api/orders").contentType(MediaType.APPLICATION_JSON).content(body))
			.andExpect(status().isBadRequest())
			.andExpect(content().contentType(MediaType.APPLICATION_PROBLEM_JSON));
		verify(this.publisher, never()).publish(any());
	}

	@ParameterizedTest
	@ValueSource(strings = { "{\"item\":\"\",\"quantity\":1}", "{\"item\":\"book\",\"quantity\":0}",
			"{\"item\":\"book\",\"quantity\":1001}", "{\"item\":\"book\"}", "{\"quantity\":1}" })
	void invalidOrderIs400ProblemNamingTheFieldAndPublishesNothing(String body) throws Exception {
		this.mvc.perform(post("/api/orders").contentType(MediaType.APPLICATION_JSON).content(body))
			.andExpect(status().isBadRequest())
			.andExpect(content().contentType(MediaType.APPLICATION_PROBLEM_JSON))
			.andExpect(jsonPath("$.errors[*].field").value(hasItem(matchesPattern("item|quantity"))));
		verify(this.publisher, never()).publish(any());
	}

	@Test
	void unconfirmedOrderIs503Problem() throws Exception {
		willThrow(new OrderNotAcceptedException("no confirm from the broker within PT5S", null)).given(this.publisher)
			.publish(any());

		this.mvc.perform(post("/api/orders").contentType(MediaType.APPLICATION_JSON)
			.content("{\"item\":\"book\",\"quantity\":2}"))
			.andExpect(status().isServiceUnavailable())
			.andExpect(content().contentType(MediaType.APPLICATION_PROBLEM_JSON))
			.andExpect(jsonPath("$.detail").value(matchesPattern(".*no confirm from the broker.*")));
	}

}
