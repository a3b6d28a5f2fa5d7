//! The X side of the window, for what WebDriver cannot reach: top-level windows found by title
//! (the app's own and the native questions it asks), a close request sent as a window
//! manager sends it when the user clicks the window's close button, and keys pressed on the
//! keyboard (XTEST) to answer a native question.

use std::ffi::{CStr, CString, c_long};
use std::time::{Duration, Instant};

use x11_dl::{keysym, xlib, xtest};

/// A connection to one X display.
pub struct X {
    xl: xlib::Xlib,
    xt: xtest::Xf86vmode,
    dpy: *mut xlib::Display,
}

impl X {
    pub fn open(display: &str) -> X {
        let xl = xlib::Xlib::open().expect("libX11");
        // libXtst comes with libxdo, which Tauri's build needs (scripts/setup installs it).
        let xt = xtest::Xf86vmode::open().expect("libXtst");
        let name = CString::new(display).unwrap();
        // SAFETY: a valid C string; the result is checked for null.
        let dpy = unsafe { (xl.XOpenDisplay)(name.as_ptr()) };
        assert!(!dpy.is_null(), "cannot open X display {display}");
        // A window can close between listing it and asking for its name or state; Xlib's
        // default handler would then exit the whole test process. Failed calls return 0,
        // which the callers already read as "not this window".
        // SAFETY: the handler is a plain function that touches nothing.
        unsafe { (xl.XSetErrorHandler)(Some(ignore_x_error)) };
        X { xl, xt, dpy }
    }

    /// The shown top-level windows titled exactly `title`. Under Xvfb there is no window
    /// manager, so top-level windows are the root window's children.
    pub fn windows(&self, title: &str) -> Vec<xlib::Window> {
        // SAFETY: out-pointers to locals; the child list is freed with XFree.
        unsafe {
            let root = (self.xl.XDefaultRootWindow)(self.dpy);
            let (mut r, mut parent, mut children, mut n) = (0, 0, std::ptr::null_mut(), 0);
            if (self.xl.XQueryTree)(self.dpy, root, &mut r, &mut parent, &mut children, &mut n) == 0
                || children.is_null()
            {
                return Vec::new();
            }
            let found = std::slice::from_raw_parts(children, n as usize)
                .iter()
                .copied()
                .filter(|&w| self.shown(w) && self.title(w).as_deref() == Some(title))
                .collect();
            (self.xl.XFree)(children.cast());
            found
        }
    }

    fn title(&self, w: xlib::Window) -> Option<String> {
        let mut name = std::ptr::null_mut();
        // SAFETY: XFetchName sets `name` to an Xlib-owned string or null.
        unsafe {
            if (self.xl.XFetchName)(self.dpy, w, &mut name) == 0 || name.is_null() {
                return None;
            }
            let title = CStr::from_ptr(name).to_string_lossy().into_owned();
            (self.xl.XFree)(name.cast());
            Some(title)
        }
    }

    fn shown(&self, w: xlib::Window) -> bool {
        // SAFETY: XGetWindowAttributes fills the zeroed struct.
        unsafe {
            let mut attrs: xlib::XWindowAttributes = std::mem::zeroed();
            (self.xl.XGetWindowAttributes)(self.dpy, w, &mut attrs) != 0
                && attrs.map_state == xlib::IsViewable
        }
    }

    /// Waits up to `secs` for a shown top-level window titled `title`.
    pub fn wait_for(&self, title: &str, secs: u64) -> Option<xlib::Window> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(&w) = self.windows(title).first() {
                return Some(w);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Asks window `w` to close as a window manager does for the user: a WM_DELETE_WINDOW
    /// client message, which the toolkit turns into the app's close request.
    pub fn request_close(&self, w: xlib::Window) {
        let atom = |name: &str| {
            let name = CString::new(name).unwrap();
            // SAFETY: a valid C string.
            unsafe { (self.xl.XInternAtom)(self.dpy, name.as_ptr(), xlib::False) }
        };
        let mut data = xlib::ClientMessageData::new();
        data.set_long(0, atom("WM_DELETE_WINDOW") as c_long);
        data.set_long(1, xlib::CurrentTime as c_long);
        let mut event: xlib::XEvent = xlib::XClientMessageEvent {
            type_: xlib::ClientMessage,
            serial: 0,
            send_event: xlib::True,
            display: self.dpy,
            window: w,
            message_type: atom("WM_PROTOCOLS"),
            format: 32,
            data,
        }
        .into();
        // SAFETY: a complete client message event for a window of this display.
        unsafe {
            (self.xl.XSendEvent)(self.dpy, w, xlib::False, xlib::NoEventMask, &mut event);
            (self.xl.XFlush)(self.dpy);
        }
    }
}

impl X {
    /// Gives window `w` the keyboard and presses Enter on it, as a user does. In a GTK
    /// question the first button has the focus when it opens (GtkDialog moves it past the
    /// text to the first button), so Enter chooses that button: the dialog's OK.
    pub fn press_enter(&self, w: xlib::Window) {
        // SAFETY: a window of this display; XTEST key events go to the focused window.
        unsafe {
            (self.xl.XRaiseWindow)(self.dpy, w);
            (self.xl.XSetInputFocus)(self.dpy, w, xlib::RevertToParent, xlib::CurrentTime);
            (self.xl.XSync)(self.dpy, xlib::False);
        }
        // GTK gives the window the keyboard on the FocusIn event: let it arrive first.
        std::thread::sleep(Duration::from_millis(300));
        // SAFETY: as above; the key code is the display's own for Return.
        unsafe {
            let code = (self.xl.XKeysymToKeycode)(self.dpy, keysym::XK_Return.into());
            (self.xt.XTestFakeKeyEvent)(self.dpy, code.into(), xlib::True, xlib::CurrentTime);
            (self.xt.XTestFakeKeyEvent)(self.dpy, code.into(), xlib::False, xlib::CurrentTime);
            (self.xl.XFlush)(self.dpy);
        }
    }
}

unsafe extern "C" fn ignore_x_error(_: *mut xlib::Display, _: *mut xlib::XErrorEvent) -> i32 {
    0
}

impl Drop for X {
    fn drop(&mut self) {
        // SAFETY: the display was opened in `open` and is closed once.
        unsafe { (self.xl.XCloseDisplay)(self.dpy) };
    }
}
