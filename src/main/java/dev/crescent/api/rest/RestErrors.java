package dev.crescent.api.rest;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/** Every failure leaves the REST API as {@link ErrorBody} JSON with the code's HTTP status; never a stack trace. */
public class RestErrors {
    private static final Logger LOG = Logger.getLogger(RestErrors.class);

    @ServerExceptionMapper
    public Response storeError(StoreException e) {
        return response(e.code().httpStatus(), ErrorBody.of(e.code(), e.getMessage()));
    }

    /** Framework errors (unknown route, wrong method, body too large...) keep their status, in our format. */
    @ServerExceptionMapper
    public Response webError(WebApplicationException e) {
        int status = e.getResponse().getStatus();
        ErrorCode code = status >= 500 ? ErrorCode.INTERNAL_ERROR : ErrorCode.INVALID_PARAMS;
        return response(status, ErrorBody.of(code, e.getMessage()));
    }

    @ServerExceptionMapper(priority = 10_000)
    public Response unexpected(Throwable e) {
        LOG.error("unexpected REST failure", e);
        return response(
                500,
                ErrorBody.of(
                        ErrorCode.INTERNAL_ERROR,
                        "internal error: " + e.getClass().getSimpleName()));
    }

    private static Response response(int status, ErrorBody body) {
        return Response.status(status)
                .type(MediaType.APPLICATION_JSON_TYPE)
                .entity(body)
                .build();
    }
}
