package com.example.bluegreen.messaging;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Size;

/** The body of POST /api/orders. Unknown fields are refused (spring.jackson.deserialization). */
record OrderRequest(@NotBlank @Size(max = 64) String item, @NotNull @Min(1) @Max(1000) Integer quantity,
		@Size(max = 100) String customer) {
}
