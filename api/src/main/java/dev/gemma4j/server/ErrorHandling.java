package dev.gemma4j.server;

import io.micronaut.context.annotation.Replaces;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import io.micronaut.http.server.exceptions.response.ErrorContext;
import io.micronaut.http.server.exceptions.response.ErrorResponseProcessor;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Every error the service answers is in OpenAI's shape; stack traces go to the log, never on the wire. */
final class ErrorHandling {
    private static final Logger LOG = LoggerFactory.getLogger(ErrorHandling.class);

    private ErrorHandling() {
    }

    /** Errors the handlers raise on purpose. */
    @Singleton
    @Produces
    @Requires(classes = ServerException.class)
    static final class ServerExceptionHandler implements ExceptionHandler<ServerException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, ServerException e) {
            return Errors.response(OpenAiController.JSON, e);
        }
    }

    /** Anything unexpected: a 500 with a short message; the trace is logged. */
    @Singleton
    @Produces
    static final class UnexpectedHandler implements ExceptionHandler<RuntimeException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, RuntimeException e) {
            if (e instanceof ServerException se) {
                return Errors.response(OpenAiController.JSON, se);
            }
            if (e instanceof io.micronaut.http.exceptions.HttpStatusException hs) {
                return Errors.response(OpenAiController.JSON, Errors.forStatus(hs.getStatus().getCode(), hs.getMessage()));
            }
            LOG.error("request {} {} failed", request.getMethodName(), request.getPath(), e);
            return Errors.response(OpenAiController.JSON, ServerException.internal("internal server error"));
        }
    }

    /** Errors Micronaut raises itself (unknown route, wrong method, body too large, ...). */
    @Singleton
    @Replaces(ErrorResponseProcessor.class)
    static final class OpenAiErrorResponseProcessor implements ErrorResponseProcessor<String> {
        @Override
        public MutableHttpResponse<String> processResponse(ErrorContext ctx, MutableHttpResponse<?> base) {
            int status = base.getStatus().getCode();
            String message = ctx.hasErrors() ? ctx.getErrors().get(0).getMessage() : base.getStatus().getReason();
            if (status >= 500) {
                ctx.getRootCause().ifPresent(t -> LOG.error("request {} failed", ctx.getRequest().getPath(), t));
                message = "internal server error";
            }
            String body = Errors.body(OpenAiController.JSON, Errors.forStatus(status, message)).toString();
            return base.contentType(MediaType.APPLICATION_JSON_TYPE).body(body);
        }
    }
}
