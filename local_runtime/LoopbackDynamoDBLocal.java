// DynamoDB Local on the loopback interface only, answering only this machine's own clients.
//
// DynamoDB Local has no host option: its DynamoDBProxyServer builds a Jetty server on every interface. This
// launcher builds the same server from the same command line (ServerRunner.createServerFromCommandLineArgs),
// binds its connector to 127.0.0.1 and wraps its handler before starting it. The wrapper refuses a request
// whose Host is not a loopback name (a DNS-rebinding page reaches 127.0.0.1 under its own name) or that carries
// an Origin (only a browser sends one: no web page may read or write the local tables). Telemetry is never
// configured here (and -disableTelemetry is passed too).
//
// Run by local_runtime/dynamodb.py in Java's source-file mode:
//   java -cp DynamoDBLocal.jar:DynamoDBLocal_lib/* LoopbackDynamoDBLocal.java -port P -inMemory ...

import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;

import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;

import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDBLocal {
    static final String LOOPBACK = "127.0.0.1";
    static final Set<String> LOOPBACK_NAMES = Set.of("127.0.0.1", "localhost", "[::1]");

    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        for (Connector connector : server.getConnectors()) {
            ((ServerConnector) connector).setHost(LOOPBACK);
        }
        server.setHandler(new LocalOnly(server.getHandler()));
        proxy.start();
        System.out.println("DynamoDB Local listening on " + LOOPBACK + " (local clients only)");
    }

    static final class LocalOnly extends Handler.Wrapper {
        LocalOnly(Handler handler) {
            super(handler);
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            String host = request.getHeaders().get("Host");
            String origin = request.getHeaders().get("Origin");
            if (origin != null) {
                return refuse(response, callback, "requests from a web page (Origin: " + origin + ") are refused");
            }
            if (host == null || !LOOPBACK_NAMES.contains(hostName(host))) {
                return refuse(response, callback, "Host " + host + " is not this machine's loopback");
            }
            return super.handle(request, response, callback);
        }

        static String hostName(String host) {
            String name = host.toLowerCase(Locale.ROOT);
            int colon = name.lastIndexOf(':');
            return colon > name.lastIndexOf(']') ? name.substring(0, colon) : name;
        }

        static boolean refuse(Response response, Callback callback, String message) {
            String body = "{\"__type\":\"com.amazonaws.dynamodb.v20120810#AccessDeniedException\",\"message\":\""
                + message.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}";
            response.setStatus(403);
            response.getHeaders().put("Content-Type", "application/x-amz-json-1.0");
            response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }
}
