//! A small W3C WebDriver client over plain HTTP, and the processes the real window needs under
//! test: Xvfb (a headless X display) and tauri-driver (which starts WebKitWebDriver); the
//! browser test (`browser.rs`) drives Chromium through chromedriver with the same client.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A child process ended (by its own id) when dropped: asked first (SIGTERM), so tauri-driver
/// can end the WebKitWebDriver it started, and killed if it has not ended a few seconds later.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A headless X display whose screen Xvfb keeps in a file (`-fbdir`, XWD format), so
/// screenshots come from the X server itself: WebKitWebDriver's own screenshot never answers
/// when WebKit composites without a GPU context, which the app turns off to save memory.
pub struct Display {
    _xvfb: Proc,
    pub name: String,
    framebuffer: tempfile::TempDir,
}

impl Display {
    /// The screen as it is now, or the part at `rect` (x, y, width, height).
    pub fn frame(&self, rect: Option<[usize; 4]>) -> Frame {
        let xwd = std::fs::read(self.framebuffer.path().join("Xvfb_screen0")).unwrap();
        Frame { xwd, rect }
    }
}

/// A copy of Xvfb's screen file, turned into pixels later (perhaps on another thread): a copy
/// is quick, the conversion is not.
pub struct Frame {
    xwd: Vec<u8>,
    rect: Option<[usize; 4]>,
}

impl Frame {
    pub fn rgb(&self) -> Rgb {
        xwd_to_rgb(&self.xwd, self.rect)
    }
}

/// An RGB image, 8 bits a channel, row by row.
pub struct Rgb {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl Rgb {
    pub fn png(&self) -> Vec<u8> {
        let mut png = Vec::new();
        let mut encoder = png::Encoder::new(&mut png, self.width as u32, self.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        encoder
            .write_header()
            .unwrap()
            .write_image_data(&self.pixels)
            .unwrap();
        png
    }
}

/// A fresh Xvfb display of `width` × `height`.
pub fn xvfb_sized(width: u32, height: u32) -> Display {
    for n in 0..50 {
        let name = format!(":{}", 140 + (std::process::id() as usize + n) % 500);
        let lock = format!("/tmp/.X{}-lock", &name[1..]);
        if Path::new(&lock).exists() {
            continue;
        }
        let framebuffer = tempfile::tempdir().unwrap();
        let child = Command::new("Xvfb")
            .args([
                &name,
                "-screen",
                "0",
                &format!("{width}x{height}x24"),
                "-nolisten",
                "tcp",
                "-fbdir",
            ])
            .arg(framebuffer.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (apt install xvfb; scripts/setup installs it)");
        let proc = Proc(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if Path::new(&lock).exists() {
                std::thread::sleep(Duration::from_millis(200));
                return Display {
                    _xvfb: proc,
                    name,
                    framebuffer,
                };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("no free X display for Xvfb");
}

/// An XWD image (Xvfb's 24-bit TrueColor ZPixmap, 32 bits per pixel) as RGB, or its part at
/// `rect` (x, y, width, height; clipped to the image).
fn xwd_to_rgb(xwd: &[u8], rect: Option<[usize; 4]>) -> Rgb {
    let field = |i: usize| u32::from_be_bytes(xwd[4 * i..4 * i + 4].try_into().unwrap()) as usize;
    let (header_size, screen_width, screen_height) = (field(0), field(4), field(5));
    let (byte_order, bits_per_pixel, bytes_per_line, ncolors) =
        (field(7), field(11), field(12), field(19));
    assert_eq!(bits_per_pixel, 32, "Xvfb's 24-bit screen has 32-bit pixels");
    let [left, top, width, height] = rect.unwrap_or([0, 0, screen_width, screen_height]);
    let (left, top) = (left.min(screen_width), top.min(screen_height));
    let (width, height) = (
        width.min(screen_width - left),
        height.min(screen_height - top),
    );
    let pixels = &xwd[header_size + 12 * ncolors..];
    let mut rgb = Vec::with_capacity(width * height * 3);
    for y in top..top + height {
        for x in left..left + width {
            let at = y * bytes_per_line + 4 * x;
            let b: [u8; 4] = pixels[at..at + 4].try_into().unwrap();
            // Red in bits 16-23, green 8-15, blue 0-7 of the pixel, stored in `byte_order`.
            let v = if byte_order == 0 {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            };
            rgb.extend([(v >> 16) as u8, (v >> 8) as u8, v as u8]);
        }
    }
    Rgb {
        width,
        height,
        pixels: rgb,
    }
}

/// tauri-driver on free ports, on `display`, with `env` passed down to the app it starts.
pub fn tauri_driver(display: &Display, env: &[(&str, &Path)]) -> (Proc, String) {
    let port = free_port();
    let native = free_port();
    let exe = std::env::var_os("TAURI_DRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            dirs_home()
                .map(|h| h.join(".cargo/bin/tauri-driver"))
                .filter(|p| p.exists())
                .unwrap_or_else(|| "tauri-driver".into())
        });
    let mut cmd = Command::new(exe);
    // Each test names its project; an inherited VERDIKT_DB would point all of them elsewhere.
    cmd.env_remove("VERDIKT_DB");
    cmd.args([
        "--port",
        &port.to_string(),
        "--native-port",
        &native.to_string(),
    ])
    .env("DISPLAY", &display.name)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .spawn()
        .expect("tauri-driver (cargo install tauri-driver --version ^2 --locked)");
    listening(child, port)
}

/// chromedriver on a free port, its browsers on `display`.
pub fn chromedriver(display: &Display) -> (Proc, String) {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .env("DISPLAY", &display.name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (apt install chromium-driver; scripts/setup installs it)");
    listening(child, port)
}

/// A WebDriver server once it accepts connections on `port`, and its address.
fn listening(child: Child, port: u16) -> (Proc, String) {
    let proc = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the WebDriver server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (proc, format!("http://127.0.0.1:{port}"))
}

fn dirs_home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// Where screenshots go: `VERDIKT_E2E_ARTIFACTS`, else `target/e2e-artifacts`.
pub fn artifacts() -> PathBuf {
    let dir = std::env::var_os("VERDIKT_E2E_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap()
                .join("target/e2e-artifacts")
        });
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct Session<'d> {
    agent: ureq::Agent,
    base: String,
    display: &'d Display,
}

pub const ENTER: &str = "\u{E007}";
pub const ALT: &str = "\u{E00A}";
pub const TAB: &str = "\u{E004}";
pub const ARROW_LEFT: &str = "\u{E012}";

impl<'d> Session<'d> {
    /// Starts the app at `application` with `args` (a W3C session through tauri-driver) on
    /// the driver's `display`.
    pub fn start(
        driver: &str,
        display: &'d Display,
        application: &Path,
        args: &[&str],
    ) -> Session<'d> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "tauri:options": {"application": application, "args": args}
        }}});
        Session::with_capabilities(driver, display, caps)
    }

    /// A session with these W3C capabilities (a browser's, for chromedriver).
    pub fn with_capabilities(driver: &str, display: &'d Display, caps: Value) -> Session<'d> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        // WebKitWebDriver sometimes drops the very first connection while it starts up.
        let mut attempts = 0;
        let v = loop {
            attempts += 1;
            match agent
                .post(&format!("{driver}/session"))
                .header("content-type", "application/json")
                .send(caps.to_string())
            {
                Ok(mut resp) => {
                    break serde_json::from_str::<Value>(
                        &resp.body_mut().read_to_string().unwrap(),
                    )
                    .unwrap();
                }
                Err(e) if attempts < 4 => {
                    eprintln!("new session: {e}; trying again");
                    std::thread::sleep(Duration::from_secs(1));
                }
                Err(e) => panic!("POST {driver}/session: {e}"),
            }
        };
        let id = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        Session {
            agent,
            base: format!("{driver}/session/{id}"),
            display,
        }
    }

    fn cmd(&self, path: &str, body: Value) -> Value {
        let v = post(&self.agent, &format!("{}{path}", self.base), &body);
        if let Some(err) = v["value"]["error"].as_str() {
            panic!("WebDriver {path}: {err}: {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    /// Opens `url` in the session's browser.
    pub fn goto(&self, url: &str) {
        self.cmd("/url", json!({"url": url}));
    }

    /// Runs a script in the page; `arguments` are passed to it.
    pub fn exec(&self, script: &str, args: Value) -> Value {
        self.cmd("/execute/sync", json!({"script": script, "args": args}))
    }

    /// Runs a script that answers later: it calls its last argument with the result.
    pub fn exec_async(&self, script: &str, args: Value) -> Value {
        self.cmd("/execute/async", json!({"script": script, "args": args}))
    }

    /// Resizes the window to `width` × `height` CSS pixels of page (there are no window
    /// decorations under Xvfb) and waits until the page has laid itself out at that size.
    pub fn resize(&self, width: u32, height: u32) {
        self.resize_window([width, height], [width, height]);
    }

    /// Resizes a browser's window, whose toolbars take room from the page, so that its page
    /// is `width` × `height`.
    pub fn resize_page(&self, width: u32, height: u32) {
        let around = self.exec(
            "return [outerWidth - innerWidth, outerHeight - innerHeight]",
            json!([]),
        );
        let [dx, dy] = [0, 1].map(|i| around[i].as_u64().unwrap() as u32);
        self.resize_window([width + dx, height + dy], [width, height]);
    }

    /// Sets the window's size to `outer` and waits until its page is `[width, height]`.
    fn resize_window(&self, outer: [u32; 2], [width, height]: [u32; 2]) {
        self.cmd(
            "/window/rect",
            json!({"width": outer[0], "height": outer[1]}),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let size = self.exec("return [innerWidth, innerHeight]", json!([]));
            if size == json!([width, height]) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the window stays {size} instead of {width} × {height}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The window's place and size on the screen: x, y, width, height.
    pub fn window_rect(&self) -> [usize; 4] {
        let v = get(&self.agent, &format!("{}/window/rect", self.base))["value"].clone();
        ["x", "y", "width", "height"].map(|k| v[k].as_u64().unwrap_or(0) as usize)
    }

    /// The window as it is drawn now: waits for two frames so the screen has caught up with
    /// the page.
    pub fn window_frame(&self) -> Frame {
        self.painted();
        self.display.frame(Some(self.window_rect()))
    }

    /// Presses `keys` together (the first ones held while the last is pressed), as Alt+3.
    pub fn chord(&self, keys: &[&str]) {
        let mut actions: Vec<Value> = keys
            .iter()
            .map(|k| json!({"type": "keyDown", "value": k}))
            .collect();
        actions.extend(
            keys.iter()
                .rev()
                .map(|k| json!({"type": "keyUp", "value": k})),
        );
        self.cmd(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        );
    }

    /// The first element matching `css`, waiting up to `secs` for it.
    pub fn wait_for(&self, css: &str, secs: u64) -> Element<'_> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = post(
                &self.agent,
                &format!("{}/element", self.base),
                &json!({"using": "css selector", "value": css}),
            );
            if let Some(obj) = v["value"].as_object()
                && let Some(id) = obj.values().next().and_then(|x| x.as_str())
                && !obj.contains_key("error")
            {
                return Element {
                    s: self,
                    id: id.to_string(),
                };
            }
            if Instant::now() > deadline {
                let shot = self.artifact_dir().join("timeout.png");
                self.screenshot(&shot);
                panic!(
                    "no element `{css}` after {secs} s (screenshot {})",
                    shot.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Presses keys on whatever has focus, as a user would (W3C actions).
    pub fn keys(&self, keys: &[&str]) {
        let mut actions = Vec::new();
        for k in keys {
            actions.push(json!({"type": "keyDown", "value": k}));
            actions.push(json!({"type": "keyUp", "value": k}));
        }
        self.cmd(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        );
    }

    /// An open alert's text, if a script opened one.
    pub fn alert_text(&self) -> Option<String> {
        let v = get(&self.agent, &format!("{}/alert/text", self.base));
        v["value"].as_str().map(String::from)
    }

    pub fn artifact_dir(&self) -> PathBuf {
        artifacts()
    }

    /// Saves a PNG of the screen once the page has painted.
    pub fn screenshot(&self, path: &Path) {
        std::fs::write(path, self.screen().png()).unwrap();
    }

    /// The screen's pixels once the page has painted.
    pub fn screen(&self) -> Rgb {
        self.painted();
        self.display.frame(None).rgb()
    }

    /// Returns once the page has painted what the DOM holds now: two animation frames, then a
    /// moment for the X server's copy of the frame.
    fn painted(&self) {
        self.exec_async(
            "const done = arguments[arguments.length - 1];
             requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 50)));",
            json!([]),
        );
    }

    /// The page as the browser itself draws it (W3C's screenshot), a base64 PNG: for Chromium,
    /// which paints the X display late and in pieces (WebKitWebDriver's never answers, see
    /// `Display`).
    pub fn page_png_base64(&self) -> String {
        let v = get(&self.agent, &format!("{}/screenshot", self.base));
        v["value"]
            .as_str()
            .unwrap_or_else(|| panic!("no screenshot: {v}"))
            .to_string()
    }

    pub fn shot(&self, name: &str) {
        self.screenshot(&self.artifact_dir().join(format!("{name}.png")));
    }

    /// Cuts Chromium's network (`offline`) or gives it back: chromedriver's own command, which
    /// emulates the network in DevTools, so the page's `fetch` fails as it would offline.
    pub fn chromium_offline(&self, offline: bool) {
        self.cmd(
            "/chromium/network_conditions",
            json!({"network_conditions": {"offline": offline, "latency": 0,
                   "download_throughput": -1, "upload_throughput": -1}}),
        );
    }

    pub fn close(self) {
        let _ = self.agent.delete(&self.base).call();
    }
}

pub struct Element<'a> {
    s: &'a Session<'a>,
    id: String,
}

impl Element<'_> {
    /// Clicks once the element is enabled: buttons wait on the window's async work (a reviewer
    /// being stored, a job ending), and a click on a disabled one would silently do nothing.
    pub fn click(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let url = format!("{}/element/{}/enabled", self.s.base, self.id);
        while get(&self.s.agent, &url)["value"] != json!(true) {
            assert!(
                Instant::now() < deadline,
                "element {} stays disabled",
                self.id
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.s
            .cmd(&format!("/element/{}/click", self.id), json!({}));
    }

    /// Replaces the field's value by typing `text`.
    pub fn fill(&self, text: &str) {
        self.s
            .cmd(&format!("/element/{}/clear", self.id), json!({}));
        self.s.cmd(
            &format!("/element/{}/value", self.id),
            json!({"text": text}),
        );
    }

    pub fn text(&self) -> String {
        let v = get(
            &self.s.agent,
            &format!("{}/element/{}/text", self.s.base, self.id),
        );
        v["value"].as_str().unwrap_or_default().to_string()
    }

    /// Chooses the `<option>` with this value in a `<select>` (as a change by the user).
    pub fn select(&self, value: &str) {
        self.s.exec(
            "const [id, v] = arguments; const el = document.querySelector(id); el.value = v; el.dispatchEvent(new Event('change', {bubbles: true}));",
            json!([format!("[data-testid='{}']", self.attr("data-testid")), value]),
        );
    }

    pub fn attr(&self, name: &str) -> String {
        let v = get(
            &self.s.agent,
            &format!("{}/element/{}/attribute/{name}", self.s.base, self.id),
        );
        v["value"].as_str().unwrap_or_default().to_string()
    }
}

fn post(agent: &ureq::Agent, url: &str, body: &Value) -> Value {
    let mut resp = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body.to_string())
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
}

fn get(agent: &ureq::Agent, url: &str) -> Value {
    let mut resp = agent
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
}
